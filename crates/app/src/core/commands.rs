//! The command side's machinery, shared by every command: load the
//! aggregate, decide, append at the loaded version, retry a bounded number of
//! times when another request won the race; and `Idempotency-Key` handling.

use std::fmt::Debug;
use std::time::Duration;

use chrono::Utc;
use resourcify_domain::{Aggregate, DomainError, Secret, ValidationErrors};
use resourcify_eventstore::{EventStoreError, KeyClaim, Loaded, NewEvent, RecordedOutcome};
use resourcify_readmodel::projections::Projection;
use uuid::Uuid;

use resourcify_domain::Actor;
use resourcify_domain::user::{User, UserCommand};

use super::Core;
use crate::credentials::AuthenticatedUser;
use crate::error::AppError;

/// How often a command is decided in all before a lost race is reported
/// (409). Each retry waits a little, at random, so that racing requests
/// spread out instead of colliding again.
const MAX_ATTEMPTS: u32 = 6;

/// Ids of created things are derived from the client's idempotency key, so a
/// retry after a lost response names the same thing instead of a new one.
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_7d2e_4b6a_4e8f_9a3c_2d1b_0e7f_6a5c);

/// What a command carries besides its input.
#[derive(Debug, Clone, Default)]
pub struct CommandMeta {
    /// The client's `Idempotency-Key`: created ids and message ids derive from it.
    pub idempotency_key: Option<String>,
    /// The request's id, recorded on the event.
    pub request_id: Option<String>,
}

/// What a command did: the id of what it created or acted on, and where its
/// event landed; a command that changed nothing (a second upvote) answers
/// the position of the aggregate's last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandOutcome {
    pub id: Uuid,
    pub position: u64,
}

/// The event a decision appended, if any, and its position.
#[derive(Debug, Clone)]
pub(crate) struct Executed<E> {
    pub position: u64,
    pub event: Option<E>,
}

/// The id of a thing a command creates: derived from the idempotency key
/// (within `scope`) when there is one, new otherwise.
pub(crate) fn created_id(scope: &str, idempotency_key: Option<&str>) -> Uuid {
    match idempotency_key {
        Some(key) => Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, format!("{scope}:{key}").as_bytes()),
        None => Uuid::now_v7(),
    }
}

/// An aggregate as loaded when its id was made just now (`created_id`
/// without an idempotency key: a new UUIDv7), so it cannot have an event
/// yet: no need to ask the log. The append still says it expects none.
pub(crate) fn unwritten<A: Aggregate>() -> Loaded<A> {
    Loaded {
        state: A::default(),
        version: 0,
    }
}

/// A short random pause before retry `attempt` (1, 2, …): up to 4 ms, 8 ms, ….
fn jitter(attempt: u32) -> Duration {
    let ceiling = 2u64 << attempt.min(8);
    Duration::from_micros(Uuid::new_v4().as_u128() as u64 % (ceiling * 1_000))
}

impl Core {
    /// Runs a command at most once per `Idempotency-Key`.
    ///
    /// `scope` keeps clients' keys apart (usually the caller's user id);
    /// `request` is everything that makes the request this request (its
    /// operation, path and body): the same key with another request is
    /// refused. `run` gets the `Nats-Msg-Id` to append with.
    pub(crate) async fn idempotent(
        &self,
        scope: &str,
        request: &(dyn Debug + Sync),
        meta: &CommandMeta,
        run: impl AsyncFnOnce(String) -> Result<CommandOutcome, AppError>,
    ) -> Result<CommandOutcome, AppError> {
        self.idempotent_with_secrets(scope, request, &[], meta, run)
            .await
    }

    /// [`Self::idempotent`] for a request that carries secrets (passwords):
    /// `request`'s `Debug` holds none of them, and they count in its
    /// fingerprint only as their keyed hashes.
    pub(crate) async fn idempotent_with_secrets(
        &self,
        scope: &str,
        request: &(dyn Debug + Sync),
        secrets: &[&Secret],
        meta: &CommandMeta,
        run: impl AsyncFnOnce(String) -> Result<CommandOutcome, AppError>,
    ) -> Result<CommandOutcome, AppError> {
        // While NATS is away the client would hold every request until it
        // is back (or until each of several time-outs): say so at once.
        if !self.store().is_connected() {
            return Err(AppError::Unavailable(
                "the event log is unreachable; nothing was written".into(),
            ));
        }
        let Some(key) = meta.idempotency_key.as_deref() else {
            let outcome = run(Uuid::now_v7().to_string()).await?;
            self.parts.backends.positions.saw_head(outcome.position);
            return Ok(outcome);
        };
        let scoped = format!("{scope}:{key}");
        let msg_id = Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, scoped.as_bytes()).to_string();
        let mut fingerprint = self.parts.fingerprints.of(request, secrets);
        let keys = &self.parts.backends.idempotency_keys;
        let mut claim = keys.claim(&scoped, &fingerprint).await?;
        if let (KeyClaim::Mismatch, Some(previous)) = (&claim, &self.parts.previous_fingerprints) {
            // Claimed before the signing key was rotated, perhaps.
            let before = previous.of(request, secrets);
            let again = keys.claim(&scoped, &before).await?;
            if again != KeyClaim::Mismatch {
                (fingerprint, claim) = (before, again);
            }
        }
        match claim {
            KeyClaim::Mismatch => return Err(AppError::IdempotencyKeyReused),
            KeyClaim::Repeat(Some(done)) => {
                return Ok(CommandOutcome {
                    id: done.id.unwrap_or_default(),
                    position: done.position,
                });
            }
            // A first request, or a repeat of one that never finished: the
            // message id makes a second append of its event a no-op.
            KeyClaim::First | KeyClaim::Repeat(None) => {}
        }
        match run(msg_id).await {
            Ok(outcome) => {
                // A read that waits for this position need not ask the log
                // whether it exists.
                self.parts.backends.positions.saw_head(outcome.position);
                let recorded = RecordedOutcome {
                    id: Some(outcome.id),
                    position: outcome.position,
                };
                if let Err(error) = keys.complete(&scoped, &fingerprint, recorded).await {
                    // The command is done; only a much later repeat loses out.
                    tracing::warn!(%error, "could not record an idempotency key's outcome");
                }
                Ok(outcome)
            }
            Err(error) => {
                if claim == KeyClaim::First {
                    keys.release(&scoped, &fingerprint).await?;
                }
                Err(error)
            }
        }
    }

    /// Load → decide → append at the loaded version; on a lost race, again.
    pub(crate) async fn execute<A: Aggregate>(
        &self,
        id: Uuid,
        msg_id: &str,
        meta: &CommandMeta,
        command: &A::Command,
    ) -> Result<Executed<A::Event>, AppError> {
        self.execute_from::<A>(id, msg_id, meta, command, None)
            .await
    }

    /// [`Self::execute`], deciding first on `first` when given: the
    /// aggregate as loaded alongside what the command needed besides
    /// (the resource a vote is about), or [`unwritten`]. A lost race loads
    /// it again from the log.
    pub(crate) async fn execute_from<A: Aggregate>(
        &self,
        id: Uuid,
        msg_id: &str,
        meta: &CommandMeta,
        command: &A::Command,
        mut first: Option<Loaded<A>>,
    ) -> Result<Executed<A::Event>, AppError> {
        let store = &self.parts.backends.store;
        for attempt in 1..=MAX_ATTEMPTS {
            let loaded = match first.take() {
                Some(loaded) => loaded,
                None => store.load::<A>(id).await?,
            };
            let events = match loaded.state.decide(command) {
                Ok(events) => events,
                // A retry of a creation whose answer was lost: the thing
                // exists because this very request made it. Its answer is
                // the one the first attempt would have given.
                Err(refused) if loaded.version > 0 => {
                    return match store.created_by(A::NAME, id, msg_id).await? {
                        Some(position) => Ok(Executed {
                            position,
                            event: None,
                        }),
                        None => Err(refused.into()),
                    };
                }
                Err(refused) => return Err(refused.into()),
            };
            let event = match <[A::Event; 1]>::try_from(events) {
                Ok([event]) => event,
                Err(events) if events.is_empty() => {
                    return Ok(Executed {
                        position: loaded.version,
                        event: None,
                    });
                }
                // Every command of the domain yields at most one event,
                // which keeps each append atomic on servers without batch
                // publish (nats-server before 2.12).
                Err(events) => {
                    return Err(DomainError::Invalid(ValidationErrors::single(
                        "command",
                        format!("produced {} events; expected one", events.len()),
                    ))
                    .into());
                }
            };
            let new = NewEvent {
                event: event.clone().into(),
                msg_id: msg_id.to_owned(),
                request_id: meta.request_id.clone(),
                time: Utc::now(),
            };
            match store.append(A::NAME, id, loaded.version, new).await {
                Ok(appended) => {
                    return Ok(Executed {
                        position: appended.position,
                        event: Some(event),
                    });
                }
                Err(EventStoreError::Conflict { .. }) if attempt < MAX_ATTEMPTS => {
                    tokio::time::sleep(jitter(attempt)).await;
                }
                Err(EventStoreError::Conflict { .. }) => break,
                Err(other) => return Err(other.into()),
            }
        }
        Err(AppError::Contended(A::NAME))
    }

    /// Runs `command` on aggregate `id` at most once per `Idempotency-Key`
    /// of `caller`'s, and answers `id` with the event's position: what most
    /// commands on an existing thing (or one's own account) come down to.
    pub(crate) async fn command_on<A: Aggregate>(
        &self,
        caller: Uuid,
        id: Uuid,
        request: &(dyn Debug + Sync),
        meta: &CommandMeta,
        command: A::Command,
    ) -> Result<CommandOutcome, AppError>
    where
        A::Command: Sync,
    {
        let scope = caller.to_string();
        self.idempotent(&scope, request, meta, async move |msg_id| {
            let executed = self.execute::<A>(id, &msg_id, meta, &command).await?;
            Ok(CommandOutcome {
                id,
                position: executed.position,
            })
        })
        .await
    }

    /// Runs a command on the caller's own account (profile, password,
    /// follows, sessions, deletion), made from the caller's standing.
    pub(crate) async fn on_own_account(
        &self,
        caller: &AuthenticatedUser,
        request: &(dyn Debug + Sync),
        meta: &CommandMeta,
        command: impl FnOnce(Actor) -> UserCommand,
    ) -> Result<CommandOutcome, AppError> {
        let command = command(caller.actor.clone());
        self.command_on::<User>(caller.user_id, caller.user_id, request, meta, command)
            .await
    }

    /// Waits (within the read wait) until `projection` shows `position`, for
    /// changes that must hold on the very next request to any node: ended
    /// sessions, roles, suspensions. If the view is slower than that, the
    /// command still stands; it takes effect when the view catches up.
    pub(crate) async fn settle(&self, projection: Projection, position: u64) {
        if let Err(error) = self.shown_everywhere(projection, position).await {
            tracing::warn!(%error, "answering before the view shows the change");
        }
    }

    /// Waits (within the read wait) until the primary, and each replica in
    /// rotation, show `projection` at `position`.
    pub(crate) async fn shown_everywhere(
        &self,
        projection: Projection,
        position: u64,
    ) -> Result<(), AppError> {
        let read_wait = self.parts.settings.read_wait;
        let deadline = tokio::time::Instant::now() + read_wait;
        let backends = &self.parts.backends;
        backends
            .positions
            .wait_for(projection, position, read_wait)
            .await?;
        backends
            .replicas
            .settle(projection, position, deadline)
            .await;
        Ok(())
    }
}
