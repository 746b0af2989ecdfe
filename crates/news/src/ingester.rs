//! The ingester: polls every due news source, appends one
//! `news-item.published` per new item, then reports the poll on the source.
//!
//! Duplicates are ruled out by the log itself, not by the ingester's
//! memory: an item's id derives from its source and GUID, and it is
//! appended only if that resource has no events yet; its canonical URL is
//! claimed in a key-value bucket first, so the same link under another GUID
//! (or in another feed) is not published twice either. A restart, two
//! ingesters at once, or a feed that repeats itself change nothing. The
//! per-source lease only keeps two nodes from fetching the same feed at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use resourcify_domain::Aggregate;
use resourcify_domain::news_source::{FetchResult, NewsSource, NewsSourceCommand};
use resourcify_domain::resource::{NewsItemDraft, PublishNewsItem, Resource, ResourceCommand};
use resourcify_eventstore::{
    EventStore, EventStoreError, Leases, NewEvent, Reservation, ReservationBook, Reserved,
};
use resourcify_readmodel::{ReadModel, ReadModelError};
use tokio::sync::watch;
use uuid::Uuid;

use crate::fetch::{Fetched, Fetcher, Validators};
use crate::metric_families::{FETCH_OUTCOMES, NEWS_FETCHES, NEWS_ITEMS_PUBLISHED};
use crate::parse::{FeedEntry, parse_feed};

const NEWS_ITEM_IDS: Uuid = Uuid::from_u128(0x3d5e_8a71_c4f2_4b09_8e6d_1a2b_7c9f_05e4);

/// The id of the item with `guid` in `source`'s feed.
pub fn news_item_id(source: Uuid, guid: &str) -> Uuid {
    let mut name = source.as_bytes().to_vec();
    name.extend_from_slice(guid.as_bytes());
    Uuid::new_v5(&NEWS_ITEM_IDS, &name)
}

#[derive(Debug, Clone)]
pub struct IngesterSettings {
    /// How often due sources are looked for.
    pub tick: Duration,
    /// How many sources are polled at once.
    pub concurrency: usize,
    /// How long a node holds a source; longer than a fetch can take.
    pub lease: Duration,
    /// The most items taken from one answer (the newest ones).
    pub max_items_per_fetch: usize,
}

impl Default for IngesterSettings {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(5),
            concurrency: 4,
            lease: Duration::from_secs(120),
            max_items_per_fetch: 200,
        }
    }
}

/// Why a round of polling stopped; the next round tries again.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    EventStore(#[from] EventStoreError),
    #[error(transparent)]
    ReadModel(#[from] ReadModelError),
    #[error("news source {0} kept changing while its poll was reported")]
    Contended(Uuid),
}

#[derive(Debug)]
pub struct Ingester {
    store: EventStore,
    reads: ReadModel,
    reservations: ReservationBook,
    leases: Leases,
    fetcher: Fetcher,
    settings: IngesterSettings,
    /// The position of this node's last report per source: until the view
    /// shows it, the view's schedule for that source is out of date.
    reported: Mutex<HashMap<Uuid, u64>>,
}

impl Ingester {
    pub fn new(
        store: EventStore,
        reads: ReadModel,
        reservations: ReservationBook,
        leases: Leases,
        fetcher: Fetcher,
        settings: IngesterSettings,
    ) -> Self {
        Self {
            store,
            reads,
            reservations,
            leases,
            fetcher,
            settings,
            reported: Mutex::default(),
        }
    }

    /// Polls due sources every tick until `stop` turns true. A stop lets
    /// the polls under way finish and give their sources' leases back, and
    /// starts no more: a node stopped for a deploy does not keep a source
    /// from the other nodes for a lease's lifetime (two minutes by default).
    /// A node that is killed, or not waited for, still loses its leases
    /// to their expiry.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.settings.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = stop.wait_for(|stop| *stop) => return,
                _ = ticker.tick() => {}
            }
            if let Err(error) = self.poll_due(&stop).await {
                tracing::warn!(%error, "news polling round failed; trying again next tick");
            }
        }
    }

    /// One round: every source due now whose last report the view shows,
    /// until `stop` turns true. Returns how many sources were polled.
    async fn poll_due(&self, stop: &watch::Receiver<bool>) -> Result<usize, IngestError> {
        let due = self.reads.news_sources_due(Utc::now(), 100).await?;
        let ready: Vec<Uuid> = {
            let reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
            due.iter()
                .filter(|source| {
                    reported
                        .get(&source.id)
                        .is_none_or(|&at| source.position >= at as i64)
                })
                .map(|source| source.id)
                .collect()
        };
        let polled = futures::stream::iter(ready)
            .take_while(|_| std::future::ready(!*stop.borrow()))
            .map(|id| self.poll_leased(id))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        let mut count = 0;
        for outcome in polled {
            if outcome? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Polls `id` if no other node is; whether it did.
    async fn poll_leased(&self, id: Uuid) -> Result<bool, IngestError> {
        let Some(lease) = self.leases.try_acquire(&id.to_string()).await? else {
            return Ok(false);
        };
        let polled = self.poll(id).await;
        if let Err(error) = self.leases.release(lease).await {
            tracing::debug!(%error, "lease not released; it expires on its own");
        }
        polled.map(|()| true)
    }

    /// Fetches one source, publishes its new items and reports the poll.
    #[tracing::instrument(skip(self))]
    pub async fn poll(&self, id: Uuid) -> Result<(), IngestError> {
        let source = self.store.load::<NewsSource>(id).await?.state;
        if source.id.is_none() || source.removed {
            return Ok(());
        }
        let validators = Validators {
            etag: source.etag.clone(),
            last_modified: source.last_modified.clone(),
        };
        let fetched = match url::Url::parse(&source.url) {
            Ok(url) => self
                .fetcher
                .fetch(&url, &validators)
                .await
                .map(|fetched| (url, fetched))
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("the URL is not usable: {e}")),
        };
        let result = match fetched {
            Ok((_, Fetched::NotModified)) => FetchResult::NotModified,
            Ok((
                url,
                Fetched::Body {
                    body, validators, ..
                },
            )) => match parse_feed(&body, &url) {
                Ok(feed) => {
                    let title = source
                        .title
                        .clone()
                        .or(feed.title.clone().filter(|t| !t.trim().is_empty()))
                        .unwrap_or_else(|| url.host_str().unwrap_or_default().to_owned());
                    let new_items = self.publish(&source, &title, feed.entries).await?;
                    FetchResult::Read {
                        etag: validators.etag,
                        last_modified: validators.last_modified,
                        feed_title: feed.title,
                        new_items,
                    }
                }
                Err(error) => FetchResult::Failed { error },
            },
            Err(error) => FetchResult::Failed { error },
        };
        let [read, not_modified, failed] = FETCH_OUTCOMES;
        let status = match &result {
            FetchResult::Read { .. } => read,
            FetchResult::NotModified => not_modified,
            FetchResult::Failed { error } => {
                tracing::info!(%error, url = %source.url, "news source failed");
                failed
            }
        };
        metrics::counter!(NEWS_FETCHES, "status" => status).increment(1);
        self.report(id, result).await
    }

    /// Appends the entries not published before, oldest first, so that the
    /// newest item is also the newest in the lists. Returns how many were new.
    async fn publish(
        &self,
        source: &NewsSource,
        source_title: &str,
        entries: Vec<FeedEntry>,
    ) -> Result<u32, IngestError> {
        let source_id = source.id.unwrap_or_default();
        let now = Utc::now();
        // Feeds list newest first; undated entries keep their place.
        let mut entries: Vec<(DateTime<Utc>, FeedEntry)> = entries
            .into_iter()
            .take(self.settings.max_items_per_fetch)
            .rev()
            .map(|e| (e.published.unwrap_or(now).min(now), e))
            .collect();
        entries.sort_by_key(|(published, _)| *published);
        let mut new_items = 0;
        for (published_at, entry) in entries {
            let Some(link) = entry.link.as_deref() else {
                continue;
            };
            let tags: Vec<String> = source
                .tags
                .iter()
                .cloned()
                .chain(entry.categories.iter().cloned())
                .collect();
            let draft = NewsItemDraft {
                title: &entry.title,
                url: link,
                summary: &entry.summary,
                tags: &tags,
            };
            let item = match draft.validate() {
                Ok(item) => item,
                Err(error) => {
                    tracing::debug!(%error, guid = %entry.guid, "skipping a feed entry");
                    continue;
                }
            };
            let id = news_item_id(source_id, &entry.guid);
            let canonical_url = item.url.canonical();
            let claim = self
                .reservations
                .reserve(Reservation::NewsItemUrl, &canonical_url, id)
                .await?;
            if let Reserved::TakenBy(_) = claim {
                continue;
            }
            let command = ResourceCommand::PublishNewsItem(PublishNewsItem {
                resource_id: id,
                source_id,
                source_title: source_title.to_owned(),
                guid: entry.guid.clone(),
                item,
                published_at,
                at: now,
            });
            // Decided as if new: the append expects the item's subject to be
            // empty, so an item published before is refused there, by the log.
            let Ok(events) = Resource::default().decide(&command) else {
                continue;
            };
            for event in events {
                let new = NewEvent {
                    event: event.into(),
                    request_id: None,
                    msg_id: id.to_string(),
                    time: now,
                };
                match self.store.append(Resource::NAME, id, 0, new).await {
                    Ok(appended) if !appended.duplicate => new_items += 1,
                    Ok(_) | Err(EventStoreError::Conflict { .. }) => {}
                    Err(error) => return Err(error.into()),
                }
            }
        }
        metrics::counter!(NEWS_ITEMS_PUBLISHED).increment(u64::from(new_items));
        Ok(new_items)
    }

    /// Records the poll on the source, retrying when an admin's change
    /// landed in between.
    async fn report(&self, id: Uuid, result: FetchResult) -> Result<(), IngestError> {
        for _ in 0..5 {
            let loaded = self.store.load::<NewsSource>(id).await?;
            let command = NewsSourceCommand::RecordFetch {
                result: result.clone(),
                at: Utc::now(),
            };
            let Some(event) = loaded.state.decide(&command).ok().and_then(|mut e| e.pop()) else {
                return Ok(());
            };
            let new = NewEvent {
                event: event.into(),
                request_id: None,
                msg_id: Uuid::now_v7().to_string(),
                time: Utc::now(),
            };
            match self
                .store
                .append(NewsSource::NAME, id, loaded.version, new)
                .await
            {
                Ok(appended) => {
                    self.reported
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(id, appended.position);
                    return Ok(());
                }
                Err(EventStoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(IngestError::Contended(id))
    }
}
