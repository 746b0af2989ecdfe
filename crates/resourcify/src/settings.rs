//! Everything a node needs to start, already parsed.

use std::net::SocketAddr;

use std::time::Duration;

use resourcify_api::ApiSettings;
use resourcify_app::AppSettings;
use resourcify_eventstore::Namespace;
use resourcify_news::IngesterSettings;
use resourcify_news::fetch::FetchSettings;
use resourcify_readmodel::PoolSettings;
use sqlx::postgres::PgConnectOptions;

/// Which parts of the system this node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub api: bool,
    pub projector: bool,
    /// Polls news sources and appends their new items.
    pub ingest: bool,
}

impl Roles {
    pub const ALL: Self = Self {
        api: true,
        projector: true,
        ingest: true,
    };
    pub const API_ONLY: Self = Self {
        api: true,
        projector: false,
        ingest: false,
    };
    pub const PROJECTOR_ONLY: Self = Self {
        api: false,
        projector: true,
        ingest: false,
    };
    pub const INGEST_ONLY: Self = Self {
        api: false,
        projector: false,
        ingest: true,
    };
}

#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub database: PgConnectOptions,
    pub nats_url: String,
    pub listen: SocketAddr,
    /// The operator address, where `/metrics` is served apart from the API
    /// (every role); `None` serves no metrics.
    pub metrics_listen: Option<SocketAddr>,
    pub namespace: Namespace,
    /// Stream and bucket replicas (3 on a JetStream cluster).
    pub replicas: usize,
    pub roles: Roles,
    /// Apply pending migrations before starting.
    pub migrate: bool,
    pub app: AppSettings,
    pub api: ApiSettings,
    /// Named queries slower than this are counted and logged as slow.
    pub slow_query: Duration,
    /// The API's pool; separate from the projectors' so neither starves the other.
    pub api_pool: PoolSettings,
    pub projector_pool: PoolSettings,
    /// How the ingest role polls.
    pub ingester: IngesterSettings,
    /// How news sources are fetched; the API refuses, up front, source URLs
    /// the fetcher would refuse.
    pub news_fetch: FetchSettings,
}
