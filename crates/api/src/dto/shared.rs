//! What many operations share: a command's result, and the examples' story.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use poem_openapi::types::Example;
use uuid::Uuid;

/// The ids the examples share, so that they read as one story.
pub(crate) const EXAMPLE_USER: Uuid = Uuid::from_u128(0x0193_a5c4_7e1f_7a2b_8c3d_4e5f_6a7b_8c9d);
pub(crate) const EXAMPLE_RESOURCE: Uuid =
    Uuid::from_u128(0x0193_a5c4_8000_7000_9000_0000_0000_a001);

pub(crate) fn example_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_770_000, 0).unwrap_or_default()
}

/// What a command did.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CommandResult {
    /// The id of what the command acted on or created.
    pub id: Uuid,
    /// Stream position of the command's event (of the thing's last event if
    /// nothing needed to change); send as `X-Resourcify-Min-Position`.
    pub position: u64,
}

impl Example for CommandResult {
    fn example() -> Self {
        Self {
            id: EXAMPLE_RESOURCE,
            position: 57,
        }
    }
}

impl From<resourcify_app::CommandOutcome> for CommandResult {
    fn from(outcome: resourcify_app::CommandOutcome) -> Self {
        Self {
            id: outcome.id,
            position: outcome.position,
        }
    }
}
