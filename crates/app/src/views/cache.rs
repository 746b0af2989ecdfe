//! Rendered views kept in memory: the exact JSON bytes a client receives,
//! with their ETag, so a hit costs neither a query nor serialisation.
//!
//! Entries are dropped when a projector announces that their key changed,
//! and expire after a TTL as a backstop in case a notice is lost. A read
//! that raced with an invalidation must not put its (possibly stale) result
//! back: every invalidation bumps a generation, and an insert only lands if
//! the generation is the one seen before the read began, or if the read
//! began at or after the newest change announced (it already shows them all:
//! a read can beat the notice of a change it sees).
//!
//! Requests that miss the same key at the same time share one read: the
//! first loads, the others wait for its result. A thousand requests for a
//! cold, popular page cost one query, not a thousand.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use crate::metric_families::CACHE_REQUESTS;

/// A view as sent to clients.
#[derive(Debug)]
pub struct RenderedView {
    pub body: Bytes,
    /// A strong ETag over the body, quoted as HTTP wants it.
    pub etag: String,
    /// The same, ready to send: made once, not per request.
    pub etag_header: http::HeaderValue,
    /// The projection position the view was read at (a lower bound).
    pub position: u64,
    /// For a page of a list: the cursor of the next page.
    pub next_cursor: Option<String>,
    /// Read from a replica: kept only if it shows every change announced
    /// when it is stored (a lagging replica cannot put back what a change
    /// has dropped).
    pub from_replica: bool,
}

impl RenderedView {
    pub fn new(body: Bytes, position: u64) -> Self {
        let mut hasher = std::hash::DefaultHasher::new();
        body.hash(&mut hasher);
        let etag = format!("\"{:016x}\"", hasher.finish());
        Self {
            body,
            etag_header: http::HeaderValue::from_str(&etag)
                .expect("hex in quotes is a header value"),
            etag,
            position,
            next_cursor: None,
            from_replica: false,
        }
    }

    pub fn with_next_cursor(mut self, next_cursor: Option<String>) -> Self {
        self.next_cursor = next_cursor;
        self
    }

    pub fn read_from_replica(mut self, replica: bool) -> Self {
        self.from_replica = replica;
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
    /// The newest position any invalidation announced.
    invalidated_through: AtomicU64,
    /// Makes "check the generation, then insert" one step with respect to
    /// "bump the generation, then invalidate". Held for nanoseconds, on
    /// misses and invalidations only.
    writes: Mutex<()>,
    /// Loads under way, by key: later misses of the key wait for these.
    loading: Mutex<HashMap<K, Flight>>,
}

/// A load under way: `None` while it runs, then `Some` of its view (or of
/// `None` if it failed, in which case each waiter loads for itself).
type Flight = watch::Receiver<Option<Option<Arc<RenderedView>>>>;

/// Removes a load's entry however the leading request ends, cancelled too.
struct Landing<'a, K: Hash + Eq> {
    loading: &'a Mutex<HashMap<K, Flight>>,
    key: &'a K,
}

impl<K: Hash + Eq> Drop for Landing<'_, K> {
    fn drop(&mut self) {
        self.loading
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(self.key);
    }
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
            hits: metrics::counter!(CACHE_REQUESTS, "cache" => name, "result" => "hit"),
            misses: metrics::counter!(CACHE_REQUESTS, "cache" => name, "result" => "miss"),
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            generation: AtomicU64::new(0),
            invalidated_through: AtomicU64::new(0),
            writes: Mutex::new(()),
            loading: Mutex::new(HashMap::new()),
        }
    }

    /// After [`Self::get`] missed (and the view has reached `min_position`):
    /// the view `load` reads, shared with every request that misses the same
    /// key meanwhile, and cached unless invalidated during the read.
    pub async fn load<F, Fut, E>(
        &self,
        key: &K,
        min_position: Option<u64>,
        load: F,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<RenderedView, E>>,
    {
        // Another request may have loaded it while this one waited.
        let fresh = |view: &Arc<RenderedView>| min_position.is_none_or(|p| view.position >= p);
        if let Some(view) = self.entries.get(key).filter(fresh) {
            return Ok((view, CacheOutcome::Hit));
        }
        let joined = {
            let mut loading = self.loading.lock().unwrap_or_else(|p| p.into_inner());
            match loading.get(key) {
                Some(flight) => Err(flight.clone()),
                None => {
                    let (done, flight) = watch::channel(None);
                    loading.insert(key.clone(), flight);
                    Ok(done)
                }
            }
        };
        match joined {
            Ok(done) => {
                let _landing = Landing {
                    loading: &self.loading,
                    key,
                };
                let generation = self.generation();
                let loaded = load().await.map(Arc::new);
                if let Ok(view) = &loaded {
                    self.insert_unless_invalidated(key.clone(), view.clone(), generation);
                }
                done.send_replace(Some(loaded.as_ref().ok().cloned()));
                loaded.map(|view| (view, CacheOutcome::Miss))
            }
            Err(mut flight) => {
                let shared = match flight.wait_for(Option::is_some).await {
                    Ok(outcome) => outcome.clone().flatten(),
                    Err(_) => None,
                };
                match shared.filter(|view| min_position.is_none_or(|p| view.position >= p)) {
                    Some(view) => Ok((view, CacheOutcome::Miss)),
                    // The shared read failed or is older than asked: read alone.
                    None => {
                        let generation = self.generation();
                        let view = Arc::new(load().await?);
                        self.insert_unless_invalidated(key.clone(), view.clone(), generation);
                        Ok((view, CacheOutcome::Miss))
                    }
                }
            }
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

    /// Caches `view` unless some key was invalidated, since `generation` was
    /// read, by a change newer than the view. A view read from a replica
    /// must show every change announced so far: the replica may not have
    /// applied one announced before the read began.
    pub fn insert_unless_invalidated(&self, key: K, view: Arc<RenderedView>, generation: u64) {
        let _writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let shows_every_change = view.position >= self.invalidated_through.load(Ordering::Acquire);
        let nothing_changed_meanwhile =
            !view.from_replica && self.generation.load(Ordering::Acquire) == generation;
        if nothing_changed_meanwhile || shows_every_change {
            self.entries.insert(key, view);
        }
    }

    /// Drops every entry read before `position`: for views (lists) that any
    /// change may touch. Entries read at or after it already show it.
    pub fn invalidate_read_before(&self, position: u64) {
        let _writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.bump(position);
        // Only fails when closures are not enabled, which `new` does.
        let _ = self
            .entries
            .invalidate_entries_if(move |_, view| view.position < position);
    }

    /// Drops the entries read before `position` that `touched` says the
    /// change concerns: for views keyed by query whose queries name what
    /// changes them (a member's inbox pages).
    pub fn invalidate_read_before_where(
        &self,
        position: u64,
        touched: impl Fn(&K) -> bool + Send + Sync + 'static,
    ) {
        let _writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.bump(position);
        // Only fails when closures are not enabled, which `new` does.
        let _ = self
            .entries
            .invalidate_entries_if(move |key, view| view.position < position && touched(key));
    }

    /// Drops the entries of `keys` that were read before `position`, where a
    /// projection changed them. An entry read at or after it already shows
    /// the change (a read can beat the change's notice) and stays.
    pub fn invalidate(&self, keys: impl IntoIterator<Item = K>, position: u64) {
        let _writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.bump(position);
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

    /// Marks a change at `position`; the caller holds `writes`.
    fn bump(&self, position: u64) {
        self.invalidated_through
            .fetch_max(position, Ordering::AcqRel);
        self.generation.fetch_add(1, Ordering::AcqRel);
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
        // The projector changes key 1 at 5 while a read from 4 is in flight.
        cache.invalidate([1], 5);
        cache.insert_unless_invalidated(1, view(4), seen);
        assert!(cache.get(&1, None).is_none());

        let seen = cache.generation();
        cache.insert_unless_invalidated(1, view(6), seen);
        assert_eq!(cache.get(&1, None).unwrap().position, 6);
    }

    #[test]
    fn a_read_that_already_shows_the_raced_change_is_cached() {
        let cache = cache();
        let seen = cache.generation();
        // The read began once 5 was committed; 5's notice lands during it.
        cache.invalidate([1], 5);
        cache.insert_unless_invalidated(1, view(5), seen);
        assert_eq!(cache.get(&1, None).unwrap().position, 5);
        // A later change of another key still keeps an older read out.
        let seen = cache.generation();
        cache.invalidate([2], 8);
        cache.insert_unless_invalidated(1, view(7), seen);
        assert_eq!(cache.get(&1, None).unwrap().position, 5);
    }

    #[test]
    fn a_replica_read_older_than_an_announced_change_is_not_cached() {
        let cache = cache();
        // Change at 5 announced; a lagging replica then answers as of 4.
        cache.invalidate([1], 5);
        let seen = cache.generation();
        let stale = RenderedView::new(Bytes::from_static(b"{}"), 4).read_from_replica(true);
        cache.insert_unless_invalidated(1, Arc::new(stale), seen);
        assert!(
            cache.get(&1, None).is_none(),
            "nothing changed during the read, yet it is stale"
        );
        let caught_up = RenderedView::new(Bytes::from_static(b"{}"), 5).read_from_replica(true);
        cache.insert_unless_invalidated(1, Arc::new(caught_up), seen);
        assert_eq!(cache.get(&1, None).unwrap().position, 5);
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

#[cfg(test)]
mod sharing {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test]
    async fn concurrent_misses_of_one_key_share_one_load() {
        let cache: ViewCache<u32> = ViewCache::new("test", 0, Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, ()>(RenderedView::new(Bytes::from_static(b"{}"), 3))
        };
        let results = futures::future::join_all((0..10).map(|_| cache.load(&1, None, load))).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(loads.load(Ordering::SeqCst), 1, "one read for ten requests");
        // A request that needs a newer view than the shared one reads again.
        let newer = cache.load(&1, Some(4), load).await;
        assert!(newer.is_ok());
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }
}
