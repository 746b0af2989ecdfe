//! What happens to a news source: the news source aggregate's events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::event_set;

/// An admin added a source; it is polled from now on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewsSourceAdded {
    pub source_id: Uuid,
    pub url: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub poll_interval_seconds: u32,
    pub added_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// An admin changed a source; every field is given as it now reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewsSourceUpdated {
    pub source_id: Uuid,
    pub url: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub poll_interval_seconds: u32,
    pub updated_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// An admin removed a source: it is no longer polled; its items stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewsSourceRemoved {
    pub source_id: Uuid,
    pub removed_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// An admin asked for the source to be polled now, back-off or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewsSourceRefreshRequested {
    pub source_id: Uuid,
    pub requested_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// How a poll went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FetchStatus {
    Read,
    NotModified,
    Failed,
}

/// The ingester polled the source. The validators are those to send next
/// time; `next_fetch_at` is when it is due again (later after failures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewsSourceFetched {
    pub source_id: Uuid,
    pub status: FetchStatus,
    pub error: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub feed_title: Option<String>,
    pub new_items: u32,
    pub consecutive_failures: u32,
    pub next_fetch_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum NewsSourceEvent {
    Added(NewsSourceAdded),
    Updated(NewsSourceUpdated),
    Removed(NewsSourceRemoved),
    RefreshRequested(NewsSourceRefreshRequested),
    Fetched(NewsSourceFetched),
}

event_set!(NewsSourceEvent {
    Added => NEWS_SOURCE_ADDED,
    Updated => NEWS_SOURCE_UPDATED,
    Removed => NEWS_SOURCE_REMOVED,
    RefreshRequested => NEWS_SOURCE_REFRESH_REQUESTED,
    Fetched => NEWS_SOURCE_FETCHED,
});
