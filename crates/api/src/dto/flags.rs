//! Flags on the wire: a new flag, and the moderators' queue.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use resourcify_domain::flag::FlagReason as Reason;
use uuid::Uuid;

/// Why a member flags something.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "kebab-case")]
pub enum FlagReason {
    Spam,
    OffTopic,
    BrokenLink,
    Duplicate,
    Other,
}

impl From<FlagReason> for Reason {
    fn from(reason: FlagReason) -> Self {
        match reason {
            FlagReason::Spam => Self::Spam,
            FlagReason::OffTopic => Self::OffTopic,
            FlagReason::BrokenLink => Self::BrokenLink,
            FlagReason::Duplicate => Self::Duplicate,
            FlagReason::Other => Self::Other,
        }
    }
}

/// A flag: one per member per resource or comment.
#[derive(Debug, Object)]
#[oai(example)]
pub struct NewFlag {
    pub reason: FlagReason,
}

impl Example for NewFlag {
    fn example() -> Self {
        Self {
            reason: FlagReason::Spam,
        }
    }
}

/// How many open flags give one reason.
#[derive(Debug, Object)]
pub struct ReasonCount {
    /// `spam`, `off-topic`, `broken-link`, `duplicate` or `other`.
    pub reason: String,
    pub flags: u32,
}

/// A flagged resource or comment awaiting a moderator.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FlagQueueEntry {
    /// `resource` or `comment`.
    pub target_kind: String,
    /// The flagged resource's or comment's id.
    pub target_id: Uuid,
    /// The resource flagged, or the one the comment is on.
    pub resource_id: Uuid,
    pub resource_title: Option<String>,
    /// Open flags.
    pub flags: u32,
    /// Whether the flags hold it for review (out of every list, for a
    /// resource) until a moderator keeps or takes it down.
    pub held: bool,
    /// Open flags by reason, most given first.
    pub reasons: Vec<ReasonCount>,
    pub first_flagged_at: DateTime<Utc>,
}

/// A page of the moderation queue: most flagged first, then oldest.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FlagQueue {
    pub items: Vec<FlagQueueEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<resourcify_app::FlagQueueEntry> for FlagQueueEntry {
    fn from(e: resourcify_app::FlagQueueEntry) -> Self {
        let mut reasons: Vec<ReasonCount> = e
            .reasons
            .as_object()
            .into_iter()
            .flatten()
            .map(|(reason, n)| ReasonCount {
                reason: reason.clone(),
                flags: n
                    .as_u64()
                    .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            })
            .collect();
        reasons.sort_by(|a, b| b.flags.cmp(&a.flags).then(a.reason.cmp(&b.reason)));
        Self {
            target_kind: e.target_kind,
            target_id: e.target_id,
            resource_id: e.resource_id,
            resource_title: e.resource_title,
            flags: u32::try_from(e.flags).unwrap_or(0),
            held: e.held,
            reasons,
            first_flagged_at: e.first_flagged_at,
        }
    }
}

impl From<resourcify_app::Page<resourcify_app::FlagQueueEntry>> for FlagQueue {
    fn from(page: resourcify_app::Page<resourcify_app::FlagQueueEntry>) -> Self {
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }
    }
}
