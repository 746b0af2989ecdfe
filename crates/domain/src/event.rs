//! Every event the platform records, and the names and versions it is stored under.

use serde::Serialize;

use crate::resource::ResourceSubmitted;
use crate::user::UserRegistered;

/// The stored identity of an event: its type name and schema version.
///
/// The CloudEvents `ce-type` is `resourcify.<name>.v<version>`, and its JSON
/// Schema lives at `schemas/events/<name>/v<version>.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType {
    pub name: &'static str,
    pub version: u32,
}

impl EventType {
    pub const USER_REGISTERED: Self = Self::new("user.registered", 1);
    pub const RESOURCE_SUBMITTED: Self = Self::new("resource.submitted", 1);

    /// Every event type the code writes today, for drift checks against the schemas.
    pub const ALL: &'static [Self] = &[Self::USER_REGISTERED, Self::RESOURCE_SUBMITTED];

    const fn new(name: &'static str, version: u32) -> Self {
        Self { name, version }
    }

    pub fn ce_type(&self) -> String {
        format!("resourcify.{}.v{}", self.name, self.version)
    }

    /// Parses a `ce-type` header back into a name and version.
    pub fn parse_ce_type(ce_type: &str) -> Option<(&str, u32)> {
        let rest = ce_type.strip_prefix("resourcify.")?;
        let (name, version) = rest.rsplit_once(".v")?;
        Some((name, version.parse().ok()?))
    }
}

/// Any event of any aggregate, as stored in the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DomainEvent {
    UserRegistered(UserRegistered),
    ResourceSubmitted(ResourceSubmitted),
}

impl DomainEvent {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::UserRegistered(_) => EventType::USER_REGISTERED,
            Self::ResourceSubmitted(_) => EventType::RESOURCE_SUBMITTED,
        }
    }

    /// The id of the aggregate instance the event belongs to (the last subject token).
    pub fn aggregate_id(&self) -> uuid::Uuid {
        match self {
            Self::UserRegistered(e) => e.user_id,
            Self::ResourceSubmitted(e) => e.resource_id,
        }
    }

    /// Decodes a payload stored under `event_type`.
    pub fn decode(event_type: EventType, payload: &[u8]) -> Result<Self, DecodeError> {
        match event_type {
            EventType::USER_REGISTERED => {
                Ok(Self::UserRegistered(serde_json::from_slice(payload)?))
            }
            EventType::RESOURCE_SUBMITTED => {
                Ok(Self::ResourceSubmitted(serde_json::from_slice(payload)?))
            }
            other => Err(DecodeError::UnknownType(other.ce_type())),
        }
    }

    pub fn to_payload(&self) -> Vec<u8> {
        // Serialising plain structs of strings, numbers and uuids cannot fail.
        serde_json::to_vec(self).expect("domain events serialise to JSON")
    }
}

/// A stored payload that cannot be turned back into a [`DomainEvent`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type {0}")]
    UnknownType(String),
    #[error("payload does not match its schema: {0}")]
    Payload(#[from] serde_json::Error),
}
