//! Moderation on the wire: reasons given and the public log.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use poem_openapi::types::Example;
use uuid::Uuid;

/// A reason for a moderation action, shown in the public moderation log.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct ModerationReason {
    /// 3 to 500 characters.
    #[oai(validator(min_length = 3, max_length = 500))]
    pub reason: String,
}

impl Example for ModerationReason {
    fn example() -> Self {
        Self {
            reason: "Spam: the link leads to an unrelated shop.".into(),
        }
    }
}

/// One public moderation action.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ModerationEntry {
    /// Stream position of the action.
    pub position: u64,
    /// `resource.hidden`, `resource.restored`, `comment.removed`, or
    /// `flags.dismissed` (a moderator kept a flagged resource or comment).
    pub action: String,
    /// `resource` or `comment`.
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub reason: String,
    /// Absent for the operator.
    pub moderator_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ModerationLog {
    pub items: Vec<ModerationEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<resourcify_app::Page<resourcify_app::ModerationEntry>> for ModerationLog {
    fn from(page: resourcify_app::Page<resourcify_app::ModerationEntry>) -> Self {
        Self {
            items: page
                .items
                .into_iter()
                .map(|e| ModerationEntry {
                    position: e.position.max(0) as u64,
                    action: e.action,
                    subject_kind: e.subject_kind,
                    subject_id: e.subject_id,
                    reason: e.reason,
                    moderator_id: e.moderator_id,
                    at: e.at,
                })
                .collect(),
            next_cursor: page.next_cursor,
        }
    }
}
