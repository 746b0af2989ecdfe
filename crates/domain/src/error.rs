//! Why a command was refused.

use crate::ValidationErrors;

/// A command that the domain refuses. Each variant maps to one kind of client
/// error; none of them is a server fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("the request is invalid: {0}")]
    Invalid(#[from] ValidationErrors),
    #[error("{aggregate} {id} already exists")]
    AlreadyExists { aggregate: &'static str, id: String },
    /// The thing does not exist, or the caller may not see it (retracted,
    /// hidden, deleted): both answer alike so that neither leaks.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The caller's credentials do not (or no longer) hold.
    #[error("{0}")]
    NotAuthenticated(&'static str),
    /// The command contradicts the thing's current state.
    #[error("{0}")]
    Conflict(&'static str),
}
