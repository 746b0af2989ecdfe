//! The application layer: the command service (validate → load → decide →
//! append) and the query facade (wait for a position → named read query).
//! The HTTP layer calls these one-line methods and nothing else.

mod auth;
mod cache;
mod changes;
mod commands;
mod comments;
mod cursor;
mod error;
mod metric_families;
mod news;
mod positions;
mod queries;
mod resources;
mod sessions;
mod status;
mod users;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use resourcify_eventstore::{EventStore, IdempotencyKeys, ReservationBook};
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{ReadModel, ViewNotice};

pub use auth::{AccessToken, AuthenticatedUser, Passwords, TokenSecret, Tokens};
pub use cache::{CacheOutcome, RenderedView, ViewCache};
pub use changes::{ChangeKind, ChangeNotice, ResourceChange};
pub use commands::{CommandMeta, CommandOutcome};
pub use cursor::Cursor;
pub use error::AppError;
pub use metric_families::{METRIC_FAMILIES, describe_metrics};
pub use news::{NewsQuery, SYNDICATION_ENTRIES};
pub use positions::ViewPositions;
pub use queries::{Account, Page, PageRequest, ResourcePage, ResourceQuery, Sort};
pub use resourcify_readmodel::{
    AccountRow, CommentRow, FollowedUser, ModerationEntry, NewsSourceRow, ProfileRow, ResourceRow,
    TagCount,
};
pub use sessions::SessionTokens;
pub use status::{ProjectionStatus, Readiness, projection_statuses};
pub use users::Registered;

/// Settings the application layer needs, read once by the binary.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub token_secret: TokenSecret,
    /// How long an access token is good for.
    pub token_ttl: Duration,
    /// How long a session lasts without a refresh.
    pub session_ttl: chrono::TimeDelta,
    /// How long a read waits for a projection to reach a requested position.
    pub read_wait: Duration,
    /// Active queries older than this are reported as long-running.
    pub long_running_query: Duration,
    /// `/readyz` fails while any projection is more events behind than this.
    pub ready_max_lag_events: u64,
    /// How long a cached view lives if no notice invalidates it first.
    pub cache_ttl: Duration,
    /// How many views each cache holds at most.
    pub cache_capacity: u64,
    /// How many resource changes a stream subscriber may fall behind
    /// before it is disconnected.
    pub stream_buffer: usize,
    /// How news sources are fetched; the API refuses, up front, source URLs
    /// the fetcher would refuse.
    pub news_fetch: resourcify_news::fetch::FetchSettings,
}

impl AppSettings {
    /// Settings for development and tests, with the given token secret.
    pub fn with_secret(token_secret: TokenSecret) -> Self {
        Self {
            token_secret,
            token_ttl: Duration::from_secs(900),
            session_ttl: chrono::TimeDelta::days(30),
            read_wait: Duration::from_secs(5),
            long_running_query: Duration::from_secs(5),
            ready_max_lag_events: 1_000,
            cache_ttl: Duration::from_secs(60),
            cache_capacity: 100_000,
            stream_buffer: 1_024,
            news_fetch: resourcify_news::fetch::FetchSettings::default(),
        }
    }
}

/// The application: everything a request handler may call.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: EventStore,
    reservations: ReservationBook,
    idempotency_keys: IdempotencyKeys,
    reads: ReadModel,
    positions: ViewPositions,
    tokens: Tokens,
    passwords: Passwords,
    /// Rendered single resources, by id.
    resource_views: ViewCache<uuid::Uuid>,
    /// Rendered pages of public lists (resources, feed, tags, search), by query.
    list_views: ViewCache<String>,
    /// Rendered pages of comment threads, by query.
    comment_views: ViewCache<String>,
    /// Resource changes, broadcast to stream subscribers.
    changes: changes::ChangeHub,
    /// Checks news source URLs as the ingester would (it fetches nothing).
    news_guard: resourcify_news::fetch::Fetcher,
    settings: AppSettings,
}

impl App {
    pub fn new(
        store: EventStore,
        reservations: ReservationBook,
        idempotency_keys: IdempotencyKeys,
        reads: ReadModel,
        positions: ViewPositions,
        settings: AppSettings,
    ) -> Self {
        let tokens = Tokens::new(&settings.token_secret, settings.token_ttl);
        Self {
            inner: Arc::new(Inner {
                store,
                reservations,
                idempotency_keys,
                reads,
                positions,
                tokens,
                passwords: Passwords,
                resource_views: ViewCache::new(
                    "resource",
                    settings.cache_capacity,
                    settings.cache_ttl,
                ),
                list_views: ViewCache::new("list", settings.cache_capacity, settings.cache_ttl),
                comment_views: ViewCache::new(
                    "comments",
                    settings.cache_capacity,
                    settings.cache_ttl,
                ),
                changes: changes::ChangeHub::new(settings.stream_buffer),
                news_guard: resourcify_news::fetch::Fetcher::new(settings.news_fetch.clone()),
                settings,
            }),
        }
    }

    pub fn tokens(&self) -> &Tokens {
        &self.inner.tokens
    }

    /// Applies a projector's notice: wakes waiters and drops changed views.
    pub fn observe(&self, notice: &ViewNotice) {
        self.inner.positions.observe(notice);
        match Projection::from_name(&notice.projection) {
            Some(Projection::Resources) => {
                let ids = notice.keys.iter().filter_map(|k| k.parse().ok());
                self.inner.resource_views.invalidate(ids, notice.position);
                // A change to one resource can move it in, out of, or
                // within any list; lists are cheap to rebuild.
                if !notice.keys.is_empty() {
                    self.inner
                        .list_views
                        .invalidate_read_before(notice.position);
                }
            }
            Some(Projection::Comments) if !notice.keys.is_empty() => {
                self.inner
                    .comment_views
                    .invalidate_read_before(notice.position);
            }
            _ => {}
        }
    }

    /// Listens to every projection's notices until the subscription ends;
    /// run it once per API node.
    pub async fn follow_view_notices(
        self,
        nats: async_nats::Client,
    ) -> Result<(), async_nats::SubscribeError> {
        let subject = self.inner.store.namespace().all_view_notices_subject();
        let mut notices = nats.subscribe(subject).await?;
        while let Some(message) = notices.next().await {
            match serde_json::from_slice::<ViewNotice>(&message.payload) {
                Ok(notice) => self.observe(&notice),
                Err(error) => tracing::warn!(%error, "ignoring malformed view notice"),
            }
        }
        Ok(())
    }
}
