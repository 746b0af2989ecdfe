//! The projections: each owns its tables and turns a batch of events into
//! set-based writes. The projector engine decides when; this decides what.

mod resources;
mod users;

use resourcify_domain::{DomainEvent, EventType};
use sqlx::PgConnection;

/// An event with its stream position, as a projection receives it.
#[derive(Debug, Clone, Copy)]
pub struct Positioned<'a> {
    pub position: u64,
    pub event: &'a DomainEvent,
}

/// Every projection the platform runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    /// Credentials for login.
    Users,
    /// Resources, their authors and tags, for the resource endpoints.
    Resources,
}

impl Projection {
    pub const ALL: [Self; 2] = [Self::Users, Self::Resources];

    /// The name used for its checkpoint, dead letters and notices.
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Resources => "resources",
        }
    }

    /// The event type names (`EventType::name`) this projection reads. Other
    /// events only advance its checkpoint; they are not even decoded.
    pub fn reads(self) -> &'static [&'static str] {
        match self {
            Self::Users => &[EventType::USER_REGISTERED.name],
            Self::Resources => &[
                EventType::USER_REGISTERED.name,
                EventType::RESOURCE_SUBMITTED.name,
            ],
        }
    }

    /// Whether an event with this `ce-type` header concerns the projection.
    /// An event without a readable type might, so it is not skipped.
    pub fn reads_ce_type(self, ce_type: Option<&str>) -> bool {
        match ce_type.and_then(EventType::parse_ce_type) {
            Some((name, _version)) => self.reads().contains(&name),
            None => true,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Applies a batch inside the caller's transaction and returns the keys
    /// (ids) whose views changed. Must be idempotent per event: the engine
    /// filters by checkpoint, and the writes ignore rows already present.
    pub async fn apply(
        self,
        tx: &mut PgConnection,
        events: &[Positioned<'_>],
    ) -> sqlx::Result<Vec<String>> {
        match self {
            Self::Users => users::apply(tx, events).await,
            Self::Resources => resources::apply(tx, events).await,
        }
    }
}
