//! What happens to a resource: the resource aggregate's events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ResourceKind, ResourceUrl};
use crate::event::event_set;

/// A member shared a resource with the community (v2: with its canonical URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSubmitted {
    pub resource_id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub url: String,
    /// The form under which the URL is unique (see [`ResourceUrl::canonical`]).
    pub canonical_url: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: ResourceKind,
    pub submitted_at: DateTime<Utc>,
}

/// `resource.submitted` v1, as written before canonical URLs were recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSubmittedV1 {
    pub resource_id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub url: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: ResourceKind,
    pub submitted_at: DateTime<Utc>,
}

impl ResourceSubmittedV1 {
    /// v1 → v2: the canonical URL is what the v2 code computes from `url`.
    /// A stored URL that no longer parses keeps its own text as canonical.
    pub fn upcast(self) -> ResourceSubmitted {
        let canonical_url = ResourceUrl::parse(&self.url)
            .map(|url| url.canonical())
            .unwrap_or_else(|_| self.url.clone());
        ResourceSubmitted {
            resource_id: self.resource_id,
            author_id: self.author_id,
            title: self.title,
            url: self.url,
            canonical_url,
            description: self.description,
            tags: self.tags,
            kind: self.kind,
            submitted_at: self.submitted_at,
        }
    }
}

/// The author changed the resource; every editable field is given as it
/// now reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceEdited {
    pub resource_id: Uuid,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: ResourceKind,
    pub edited_by: Uuid,
    pub at: DateTime<Utc>,
}

/// The author withdrew the resource; it leaves every view for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRetracted {
    pub resource_id: Uuid,
    pub retracted_by: Uuid,
    pub at: DateTime<Utc>,
}

/// A moderator hid the resource from everyone; the reason is public in the
/// moderation log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceHidden {
    pub resource_id: Uuid,
    pub reason: String,
    pub moderator_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRestored {
    pub resource_id: Uuid,
    pub reason: String,
    pub moderator_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The news ingester found a new item in a source's feed. It is a resource
/// without an author: anyone may vote on it, bookmark it, or share it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewsItemPublished {
    pub resource_id: Uuid,
    pub source_id: Uuid,
    /// The source's title when the item was found.
    pub source_title: String,
    /// The item's id within its feed (RSS `guid`, Atom `id`).
    pub guid: String,
    pub title: String,
    pub url: String,
    pub canonical_url: String,
    pub summary: String,
    pub tags: Vec<String>,
    /// When the feed says the item was published (never later than found).
    pub published_at: DateTime<Utc>,
    pub found_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ResourceEvent {
    Submitted(ResourceSubmitted),
    Edited(ResourceEdited),
    Retracted(ResourceRetracted),
    Hidden(ResourceHidden),
    Restored(ResourceRestored),
    NewsItemPublished(NewsItemPublished),
}

event_set!(ResourceEvent {
    Submitted => RESOURCE_SUBMITTED,
    Edited => RESOURCE_EDITED,
    Retracted => RESOURCE_RETRACTED,
    Hidden => RESOURCE_HIDDEN,
    Restored => RESOURCE_RESTORED,
    NewsItemPublished => NEWS_ITEM_PUBLISHED,
});
