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
}
