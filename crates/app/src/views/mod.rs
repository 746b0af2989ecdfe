//! The rendered views this node keeps in memory, and how a projector's
//! notice drops the ones it changed. Which views a projection's changes
//! touch is declared beside the projection
//! ([`Projection::invalidates`]); this applies it.

mod cache;

use std::time::Duration;

use resourcify_readmodel::ViewNotice;
use resourcify_readmodel::projections::{CachedView, Projection};
use uuid::Uuid;

pub use cache::{CacheOutcome, RenderedView, ViewCache};

#[derive(Debug)]
pub(crate) struct Views {
    /// Rendered single resources, by id.
    pub(crate) resources: ViewCache<Uuid>,
    /// Rendered pages of public lists (resources, feed, tags, search, news,
    /// syndication), by query.
    pub(crate) lists: ViewCache<String>,
    /// Rendered pages of comment threads, by query.
    pub(crate) comments: ViewCache<String>,
    /// Rendered pages of resources' edit histories, by query.
    pub(crate) histories: ViewCache<String>,
    /// Rendered pages and unread counts of members' inboxes, by query
    /// (which names the member): answers to one member only.
    pub(crate) inboxes: ViewCache<String>,
}

impl Views {
    pub(crate) fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            resources: ViewCache::new("resource", capacity, ttl),
            lists: ViewCache::new("list", capacity, ttl),
            comments: ViewCache::new("comments", capacity, ttl),
            histories: ViewCache::new("history", capacity, ttl),
            inboxes: ViewCache::new("inbox", capacity, ttl),
        }
    }

    /// Drops what `notice` says changed. A notice without keys moved only
    /// the checkpoint (events that changed no row) and drops nothing.
    pub(crate) fn invalidate(&self, notice: &ViewNotice) {
        let Some(projection) = Projection::from_name(&notice.projection) else {
            return;
        };
        if notice.keys.is_empty() {
            return;
        }
        for view in projection.invalidates() {
            match view {
                CachedView::ResourceById => {
                    let ids = notice.keys.iter().filter_map(|k| k.parse().ok());
                    self.resources.invalidate(ids, notice.position);
                }
                CachedView::ResourceLists => self.lists.invalidate_read_before(notice.position),
                CachedView::CommentThreads => self.comments.invalidate_read_before(notice.position),
                CachedView::ResourceHistories => {
                    self.histories.invalidate_read_before(notice.position);
                }
                CachedView::Inboxes => {
                    // Inbox queries start with their kind and the member's id.
                    let members: std::collections::HashSet<String> =
                        notice.keys.iter().cloned().collect();
                    self.inboxes
                        .invalidate_read_before_where(notice.position, move |key| {
                            key.split(' ').nth(1).is_some_and(|m| members.contains(m))
                        });
                }
            }
        }
    }
}
