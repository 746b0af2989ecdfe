//! Rendered views kept in memory: the exact JSON bytes a client receives,
//! with their ETag, so a hit costs neither a query nor serialisation.
//!
//! Entries are dropped when a projector announces that their key changed,
//! and expire after a TTL as a backstop in case a notice is lost. A read
//! that raced with an invalidation must not put its (possibly stale) result
//! back: every invalidation bumps a generation, and an insert only lands if
//! the generation is the one seen before the read began.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

/// A view as sent to clients.
#[derive(Debug)]
pub struct RenderedView {
    pub body: Bytes,
    /// A strong ETag over the body, quoted as HTTP wants it.
    pub etag: String,
    /// The projection position the view was read at (a lower bound).
    pub position: u64,
    /// For a page of a list: the cursor of the next page.
    pub next_cursor: Option<String>,
}

impl RenderedView {
    pub fn new(body: Bytes, position: u64) -> Self {
        let mut hasher = std::hash::DefaultHasher::new();
        body.hash(&mut hasher);
        let etag = format!("\"{:016x}\"", hasher.finish());
        Self {
            body,
            etag,
            position,
            next_cursor: None,
        }
    }

    pub fn with_next_cursor(mut self, next_cursor: Option<String>) -> Self {
        self.next_cursor = next_cursor;
        self
    }
}

/// Whether an answer came from memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
}

/// A bounded, invalidated cache of rendered views.
pub struct ViewCache<K> {
    name: &'static str,
    entries: moka::sync::Cache<K, Arc<RenderedView>>,
    /// Resolved once: looking labelled metrics up per request is not free.
    hits: metrics::Counter,
    misses: metrics::Counter,
    generation: AtomicU64,
    /// Makes "check the generation, then insert" one step with respect to
    /// "bump the generation, then invalidate". Held for nanoseconds, on
    /// misses and invalidations only.
    writes: Mutex<()>,
}

impl<K> std::fmt::Debug for ViewCache<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewCache")
            .field("name", &self.name)
            .field("entries", &self.entries.entry_count())
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Send + Sync + Clone + 'static> ViewCache<K> {
    pub fn new(name: &'static str, capacity: u64, ttl: Duration) -> Self {
        Self {
            name,
            hits: metrics::counter!("resourcify_cache_requests_total", "cache" => name, "result" => "hit"),
            misses: metrics::counter!("resourcify_cache_requests_total", "cache" => name, "result" => "miss"),
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            generation: AtomicU64::new(0),
            writes: Mutex::new(()),
        }
    }

    /// A cached view at least as new as `min_position`, counting the hit or miss.
    pub fn get(&self, key: &K, min_position: Option<u64>) -> Option<Arc<RenderedView>> {
        let found = self
            .entries
            .get(key)
            .filter(|view| min_position.is_none_or(|p| view.position >= p));
        match found {
            Some(_) => self.hits.increment(1),
            None => self.misses.increment(1),
        }
        found
    }

    /// Read before querying; pass to [`Self::insert_unless_invalidated`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `view` unless some key was invalidated since `generation` was read.
    pub fn insert_unless_invalidated(&self, key: K, view: Arc<RenderedView>, generation: u64) {
        let _writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            self.entries.insert(key, view);
        }
    }

    /// Drops every entry: for views (lists) that any change may touch.
    pub fn invalidate_all(&self) {
        let _writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }

    /// Drops the entries of `keys` that were read before `position`, where a
    /// projection changed them. An entry read at or after it already shows
    /// the change (a read can beat the change's notice) and stays.
    pub fn invalidate(&self, keys: impl IntoIterator<Item = K>, position: u64) {
        let _writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        for key in keys {
            if self
                .entries
                .get(&key)
                .is_some_and(|view| view.position < position)
            {
                self.entries.invalidate(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> ViewCache<u32> {
        ViewCache::new("test", 100, Duration::from_secs(60))
    }

    fn view(position: u64) -> Arc<RenderedView> {
        Arc::new(RenderedView::new(Bytes::from_static(b"{}"), position))
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_cached() {
        let cache = cache();
        let seen = cache.generation();
        // The projector changes key 1 while the read is in flight.
        cache.invalidate([1], 5);
        cache.insert_unless_invalidated(1, view(5), seen);
        assert!(cache.get(&1, None).is_none());

        let seen = cache.generation();
        cache.insert_unless_invalidated(1, view(6), seen);
        assert_eq!(cache.get(&1, None).unwrap().position, 6);
    }

    #[test]
    fn a_notice_drops_entries_read_before_its_change_only() {
        let cache = cache();
        cache.insert_unless_invalidated(1, view(4), cache.generation());
        cache.insert_unless_invalidated(2, view(9), cache.generation());
        cache.invalidate([1, 2], 7);
        assert!(cache.get(&1, None).is_none(), "read at 4, changed at 7");
        assert!(cache.get(&2, None).is_some(), "read at 9 already shows 7");
    }

    #[test]
    fn an_entry_older_than_the_asked_position_is_a_miss() {
        let cache = cache();
        cache.insert_unless_invalidated(1, view(5), cache.generation());
        assert!(cache.get(&1, Some(5)).is_some());
        assert!(cache.get(&1, Some(6)).is_none());
    }

    #[test]
    fn equal_bodies_have_equal_etags() {
        let a = RenderedView::new(Bytes::from_static(b"{\"a\":1}"), 1);
        let b = RenderedView::new(Bytes::from_static(b"{\"a\":1}"), 2);
        let c = RenderedView::new(Bytes::from_static(b"{\"a\":2}"), 1);
        assert_eq!(a.etag, b.etag);
        assert_ne!(a.etag, c.etag);
        assert!(a.etag.starts_with('"') && a.etag.ends_with('"'));
    }
}
