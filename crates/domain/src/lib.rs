//! The Resourcify domain: commands, events and the pure decisions between them.
//!
//! Nothing in this crate performs I/O or knows about time, randomness, NATS or
//! Postgres. Callers pass in everything a decision needs (ids, the current
//! time, a password hash) so that every rule here is a plain function that a
//! unit test can check exhaustively.

mod aggregate;
mod error;
mod event;
pub mod resource;
pub mod user;
mod validation;

pub use aggregate::Aggregate;
pub use error::DomainError;
pub use event::{DecodeError, DomainEvent, EventType};
pub use validation::{FieldError, ValidationErrors};
