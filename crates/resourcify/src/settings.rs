//! Everything a node needs to start, already parsed.

use std::net::SocketAddr;

use std::time::Duration;

use resourcify_api::ApiSettings;
use resourcify_app::{AppSettings, ReplicaSettings};
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

#[derive(Clone)]
pub struct NodeSettings {
    /// The primary: migrations, projectors, replays, and every read when
    /// no replica is in rotation.
    pub database: PgConnectOptions,
    /// Streaming replicas of `database` the API reads views from.
    pub read_databases: Vec<PgConnectOptions>,
    /// When a replica leaves the rotation.
    pub read_replicas: ReplicaSettings,
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

/// The database and NATS by address only: their URLs may hold passwords.
impl std::fmt::Debug for NodeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSettings")
            .field(
                "database",
                &crate::connect::postgres_address(&self.database),
            )
            .field(
                "read_databases",
                &self
                    .read_databases
                    .iter()
                    .map(crate::connect::postgres_address)
                    .collect::<Vec<_>>(),
            )
            .field("nats", &crate::connect::nats_address(&self.nats_url))
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("namespace", &self.namespace)
            .field("replicas", &self.replicas)
            .field("roles", &self.roles)
            .field("app", &self.app)
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn settings_never_show_the_services_passwords() {
        let settings = NodeSettings {
            database: PgConnectOptions::from_str("postgres://app:pg-s3cret@db.internal:5433/views")
                .unwrap(),
            read_databases: vec![
                PgConnectOptions::from_str("postgres://app:replica-s3cret@replica.internal/views")
                    .unwrap(),
            ],
            read_replicas: ReplicaSettings::default(),
            nats_url: "nats://app:nats-s3cret@nats.internal:4222".into(),
            listen: "127.0.0.1:8080".parse().unwrap(),
            namespace: Namespace::parse("shown").unwrap(),
            replicas: 1,
            roles: Roles::ALL,
            migrate: true,
            app: AppSettings::with_secret(resourcify_app::TokenSecret::new(
                "test-signing-secret-0123456789abcdef",
            )),
            api: ApiSettings::default(),
            slow_query: Duration::from_millis(500),
            api_pool: PoolSettings::default(),
            projector_pool: PoolSettings::default(),
            ingester: IngesterSettings::default(),
            news_fetch: FetchSettings::default(),
            metrics_listen: None,
        };
        let shown = format!("{settings:?}");
        assert!(shown.contains("db.internal:5433"), "{shown}");
        assert!(shown.contains("nats.internal:4222"), "{shown}");
        assert!(shown.contains("replica.internal"), "{shown}");
        for secret in ["pg-s3cret", "nats-s3cret", "replica-s3cret", "test-signing"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
