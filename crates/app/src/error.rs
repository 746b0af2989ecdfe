//! Every way an application call can fail, in terms a client can act on.

use resourcify_domain::{DomainError, ValidationErrors};
use resourcify_eventstore::EventStoreError;
use resourcify_readmodel::ReadModelError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// The thing already exists, or the command contradicts its state.
    #[error("{0}")]
    Conflict(String),
    /// An `Idempotency-Key` came back with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// The resource was submitted before; `existing` is its id.
    #[error("this URL was submitted before as resource {existing}")]
    DuplicateResource { existing: uuid::Uuid },
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Too many failed logins for the account the login names; no password
    /// is checked until `retry_after` has passed. `budget` names the
    /// budget refused, of `limit` failures per `window`.
    #[error("too many failed logins for this account; wait before trying again")]
    TooManyFailedLogins {
        budget: &'static str,
        limit: u32,
        window: std::time::Duration,
        retry_after: std::time::Duration,
    },
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The caller's karma, as projected, is below what the action takes
    /// (`RESOURCIFY_MIN_KARMA_TO_FLAG` for flags).
    #[error("flagging takes at least {needed} karma; you have {karma}")]
    NotEnoughKarma { needed: i64, karma: i64 },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The projection has not reached the position the client asked for.
    #[error("the {projection} view has not reached position {position} yet")]
    NotYetProjected {
        projection: &'static str,
        position: u64,
    },
    /// The client asked to wait for a position that no write has answered:
    /// the log does not reach it, so waiting could only end in a time-out.
    #[error(
        "position {position} is beyond the head of the log ({head}); send a position a write answered"
    )]
    PositionBeyondHead { position: u64, head: u64 },
    /// The aggregate kept changing under us, retries included.
    #[error("the {0} was changed by concurrent requests; reload it and try again")]
    Contended(&'static str),
    /// A backing service is down or too slow; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
}

impl From<DomainError> for AppError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid(errors) => Self::Invalid(errors),
            DomainError::AlreadyExists { .. } => Self::Conflict(error.to_string()),
            DomainError::Conflict(reason) => Self::Conflict(reason.to_owned()),
            DomainError::NotFound(what) => Self::NotFound(what),
            DomainError::Forbidden(reason) => Self::Forbidden(reason),
            DomainError::NotAuthenticated(reason) => Self::Unauthorized(reason),
        }
    }
}

impl From<EventStoreError> for AppError {
    fn from(error: EventStoreError) -> Self {
        match error {
            EventStoreError::Conflict { .. } => Self::Contended("aggregate"),
            EventStoreError::Corrupt { .. }
            | EventStoreError::Unavailable(_)
            | EventStoreError::Backup(_) => {
                tracing::error!(%error, "event store failure");
                Self::Unavailable("the event store is unavailable".into())
            }
        }
    }
}

impl From<ReadModelError> for AppError {
    fn from(error: ReadModelError) -> Self {
        tracing::error!(%error, "read model failure");
        match error {
            ReadModelError::TimedOut { query } => {
                Self::Unavailable(format!("query {query} took too long"))
            }
            ReadModelError::Unavailable { .. } => {
                Self::Unavailable("the read model is unavailable".into())
            }
        }
    }
}
