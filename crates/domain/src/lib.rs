//! The Resourcify domain: commands, events and the pure decisions between them.
//!
//! Nothing in this crate performs I/O or knows about time, randomness, NATS or
//! Postgres. Callers pass in everything a decision needs (ids, the current
//! time, a password hash, the caller's standing, the state of related
//! aggregates) so that every rule here is a plain function that a unit test
//! can check exhaustively.
//!
//! Every command yields at most one event, so every append is atomic on any
//! JetStream server, batch publish or not.

mod actor;
mod aggregate;
pub mod bookmark;
pub mod comment;
pub mod comment_vote;
mod error;
mod event;
pub mod flag;
pub mod karma;
mod mark;
pub mod mention;
pub mod news_source;
pub mod personal;
pub mod resource;
mod secret;
pub mod session;
pub mod site;
pub mod tag_filter;
pub mod user;
mod validation;
pub mod vote;

pub use actor::{Actor, Role};
pub use aggregate::Aggregate;
pub use error::DomainError;
pub use event::{DecodeError, DomainEvent, EventSet, EventType};
pub use secret::Secret;
pub use validation::{
    FieldError, MULTI_LINE_FIELDS, MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN, ValidationErrors,
    clean_text, is_text_char, parse_reason,
};
