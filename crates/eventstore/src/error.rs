//! Errors of the event store, split by what a caller can do about them.

/// What can go wrong talking to JetStream.
#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    /// Someone appended to the aggregate since it was loaded; reload and decide again.
    #[error("the aggregate changed since it was loaded (expected subject sequence {expected})")]
    Conflict { expected: u64 },
    /// A stored event could not be decoded while loading an aggregate.
    #[error("stored event at position {position} is unreadable: {reason}")]
    Corrupt { position: u64, reason: String },
    /// NATS did not answer or refused for reasons of its own; safe to retry later.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// A backup or a restore cannot go on (a file, the manifest, a stream
    /// already there); the message says which and why.
    #[error("{0}")]
    Backup(String),
}

impl EventStoreError {
    pub(crate) fn unavailable(error: impl std::fmt::Display) -> Self {
        Self::Unavailable(error.to_string())
    }
}
