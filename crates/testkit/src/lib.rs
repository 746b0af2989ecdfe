//! Test kit: `spawn_app` starts a real node (API and projectors) against the
//! real NATS and Postgres, in a namespace and database of its own, and
//! removes the namespace's stream and buckets when the test ends.

mod client;
pub mod engines;
mod feed_server;
mod history;
pub mod load;
mod namespace;
mod projectors;
mod serve_process;

use std::time::Duration;

use resourcify::{NodeSettings, Roles, RunningNode};
use resourcify_api::{ApiSettings, Budget, RateLimitSettings};
use resourcify_app::{AppSettings, TokenSecret};
use resourcify_eventstore::{EventStore, Namespace};
use resourcify_news::IngesterSettings;
use resourcify_readmodel::{PoolSettings, ReadModel};
use sqlx::postgres::PgConnectOptions;

pub use client::{PASSWORD, Registered, TestResponse, assert_exactly_one_created};
pub use feed_server::{FeedAnswer, FeedServer, SeenRequest};
pub use history::{SyntheticHistory, new_event};
pub use namespace::NamespaceGuard;
pub use projectors::{RunningProjectors, projector_process};
pub use serve_process::{serve_process, until_listening};

/// The URL of a test's database, for the binary or its command line.
pub fn database_url(db: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        db.get_username(),
        db.get_host(),
        db.get_port(),
        db.get_database().unwrap_or("postgres")
    )
}

/// The NATS server tests use: `NATS_URL`, or the local default.
pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A running node plus what a test needs to talk to it and look behind it.
#[derive(Debug)]
pub struct TestApp {
    pub base_url: String,
    /// The node's operator address, where `/metrics` is served.
    pub metrics_url: String,
    pub http: reqwest::Client,
    pub namespace: Namespace,
    pub nats: async_nats::Client,
    pub store: EventStore,
    pub database: PgConnectOptions,
    pub reads: ReadModel,
    pub node: RunningNode,
    /// What the node was started with.
    pub settings: NodeSettings,
    _guard: NamespaceGuard,
}

/// Starts API and projectors over `database` (a fresh `#[sqlx::test]` database).
pub async fn spawn_app(database: PgConnectOptions) -> TestApp {
    spawn_app_configured(database, |_| {}).await
}

/// Starts an API without projectors: the views stay where they are while
/// the log grows, so only the write side can answer.
pub async fn spawn_api_only(database: PgConnectOptions) -> TestApp {
    spawn_app_configured(database, |settings| settings.roles = Roles::API_ONLY).await
}

/// Starts only the given roles, e.g. an API without projectors.
pub async fn spawn_app_with(database: PgConnectOptions, roles: Roles) -> TestApp {
    spawn_app_configured(database, |settings| settings.roles = roles).await
}

/// Starts a node with test settings changed by `configure`. The API role
/// always runs: a test talks to it.
pub async fn spawn_app_configured(
    database: PgConnectOptions,
    configure: impl FnOnce(&mut NodeSettings),
) -> TestApp {
    let guard = NamespaceGuard::new();
    let unlimited: Budget = "1000000/s".parse().expect("a budget");
    let mut settings = NodeSettings {
        database: database.clone(),
        read_databases: Vec::new(),
        read_replicas: Default::default(),
        nats_url: nats_url(),
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        metrics_listen: Some("127.0.0.1:0".parse().expect("a socket address")),
        namespace: guard.namespace().clone(),
        replicas: 1,
        // The news tests start the ingester; the others need no poller.
        roles: Roles {
            ingest: false,
            ..Roles::ALL
        },
        migrate: false,
        app: AppSettings {
            token_ttl: Duration::from_secs(600),
            read_wait: Duration::from_secs(5),
            ..AppSettings::with_secret(TokenSecret::new(
                "test-secret-for-tests-only-0123456789abcdef",
            ))
        },
        // Tests send many requests from one address; the rate-limit tests
        // set their own budgets.
        api: ApiSettings {
            rate_limits: RateLimitSettings {
                max_waiting_reads: 10_000,
                ..RateLimitSettings::uniform(unlimited)
            },
            ..ApiSettings::default()
        },
        slow_query: Duration::from_millis(250),
        api_pool: PoolSettings {
            max_connections: 5,
            ..PoolSettings::default()
        },
        projector_pool: PoolSettings {
            max_connections: 3,
            ..PoolSettings::default()
        },
        ingester: IngesterSettings::default(),
        news_fetch: Default::default(),
    };
    configure(&mut settings);
    settings.roles.api = true;
    let node = resourcify::start(settings.clone())
        .await
        .expect("the node starts");
    let addr = node.addr.expect("the API role listens");
    let metrics_url = operator_metrics_url(&node);
    let nats = resourcify::connect_nats(&settings.nats_url)
        .await
        .expect("NATS answers");
    let pool = sqlx::PgPool::connect_with(database.clone())
        .await
        .expect("Postgres answers");
    TestApp {
        base_url: format!("http://{addr}"),
        metrics_url,
        http: reqwest::Client::new(),
        // `configure` may have set another (a restored backup's, say).
        namespace: settings.namespace.clone(),
        nats,
        store: node.store.clone(),
        database,
        reads: ReadModel::new(pool, Duration::from_secs(1)),
        node,
        settings,
        _guard: guard,
    }
}

impl TestApp {
    /// Runs `resourcify <command…>` against this app's database, NATS and
    /// namespace, as an operator would.
    pub async fn operator(&self, command: &[&str]) -> anyhow::Result<()> {
        use clap::Parser;
        let database = database_url(&self.database);
        let nats = self.settings.nats_url.clone();
        let mut args = vec![
            "resourcify",
            "--database-url",
            &database,
            "--nats-url",
            &nats,
            "--namespace",
            self.namespace.as_str(),
        ];
        args.extend(command);
        resourcify::cli::Cli::try_parse_from(args)?.run().await
    }

    /// Grants `role` to `username` as `resourcify admin grant` does, and
    /// returns the event's position.
    pub async fn grant_as_operator(&self, username: &str, role: &str) -> u64 {
        let outcome = self
            .node
            .app
            .as_ref()
            .expect("the API role runs")
            .moderation
            .set_role(
                &resourcify_domain::Actor::operator(),
                username,
                role,
                true,
                &resourcify_app::CommandMeta::default(),
            )
            .await
            .expect("the operator grants the role");
        outcome.position
    }

    /// The node's metrics, in the Prometheus text format, from its operator
    /// address.
    pub async fn metrics(&self) -> String {
        scrape(&self.metrics_url).await
    }

    /// Stops the node and waits until its database connections are closed,
    /// so the test's database can be dropped. Tests that leave streams open
    /// end with this: the streams keep the node's pools alive otherwise.
    pub async fn shut_down(self) {
        self.node.shut_down().await;
    }
}

/// `/metrics` on `node`'s operator address.
pub fn operator_metrics_url(node: &RunningNode) -> String {
    let addr = node.metrics_addr.expect("the node serves metrics");
    format!("http://{addr}/metrics")
}

/// The Prometheus text served at `url`, which must answer 200 with it.
pub async fn scrape(url: &str) -> String {
    let response = reqwest::get(url)
        .await
        .expect("the operator address answers");
    assert_eq!(response.status(), 200, "{url}");
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE].clone();
    assert_eq!(content_type, "text/plain; version=0.0.4", "{url}");
    response.text().await.expect("a body")
}

/// A second API node of a test's deployment.
#[derive(Debug)]
pub struct OtherNode {
    pub base_url: String,
    pub node: RunningNode,
}

impl TestApp {
    /// Starts another API node (no projectors) on this test's namespace and
    /// database, as a second server behind a load balancer would run.
    pub async fn another_api_node(&self) -> OtherNode {
        self.another_api_node_configured(|_| {}).await
    }

    /// [`Self::another_api_node`] with settings changed by `configure`.
    pub async fn another_api_node_configured(
        &self,
        configure: impl FnOnce(&mut NodeSettings),
    ) -> OtherNode {
        let mut settings = self.settings.clone();
        configure(&mut settings);
        settings.roles = Roles::API_ONLY;
        let node = resourcify::start(settings)
            .await
            .expect("the second node starts");
        let addr = node.addr.expect("the API role listens");
        OtherNode {
            base_url: format!("http://{addr}"),
            node,
        }
    }

    /// Starts another node of this test's deployment (namespace, database
    /// and settings) running only `roles`, e.g. a projector node, which
    /// serves no API.
    pub async fn another_node_with(&self, roles: Roles) -> RunningNode {
        let mut settings = self.settings.clone();
        settings.roles = roles;
        resourcify::start(settings)
            .await
            .expect("the other node starts")
    }
}

/// The value of the first sample in a Prometheus exposition `metrics`
/// whose line starts with `prefix`.
pub fn metric_sample(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

/// A digest of every read-model table (not the checkpoints, whose
/// timestamps differ), to compare views exactly.
pub async fn views_digest(pool: &sqlx::PgPool) -> Vec<(String, i64, String)> {
    let mut digest = Vec::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables
         WHERE schemaname = 'public' AND tablename NOT LIKE '\\_sqlx%'
           AND tablename NOT IN ('projection_checkpoints', 'dead_letters')
         ORDER BY tablename",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    for table in tables {
        let sql = format!(
            "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
        );
        let (count, md5): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap();
        digest.push((table, count, md5));
    }
    digest
}

/// Waits until every projection over `pool` has applied the head of
/// `store`'s log as it is now, and says how long that took.
pub async fn until_views_complete(store: &EventStore, pool: &sqlx::PgPool) -> Duration {
    let asked = std::time::Instant::now();
    let head = store.head().await.expect("the log answers");
    let positions =
        resourcify_app::ViewPositions::new(ReadModel::new(pool.clone(), Duration::from_secs(5)));
    for projection in resourcify_projector::Projection::ALL {
        positions
            .wait_for(projection, head, Duration::from_secs(180))
            .await
            .unwrap_or_else(|e| panic!("{} did not catch up: {e}", projection.name()));
    }
    asked.elapsed()
}

/// Asserts that the views over `database` equal a clean replay of
/// `store`'s log (no projector may be running on it).
pub async fn assert_views_equal_a_clean_replay(store: &EventStore, database: &PgConnectOptions) {
    assert_replay_changes_nothing(store, database, &resourcify_projector::Projection::ALL).await;
}

/// Replays each of `projections` from the first event and asserts that
/// the views are what they were: what the live projectors built is what
/// a clean replay builds.
pub async fn assert_replay_changes_nothing(
    store: &EventStore,
    database: &PgConnectOptions,
    projections: &[resourcify_projector::Projection],
) {
    let pool = sqlx::PgPool::connect_with(database.clone()).await.unwrap();
    let lived = views_digest(&pool).await;
    let settings = resourcify_projector::ReplaySettings {
        restart: true,
        ..resourcify_projector::ReplaySettings::default()
    };
    for &projection in projections {
        resourcify_projector::replay(store, database, projection, &settings, |_| {})
            .await
            .unwrap();
    }
    let clean = views_digest(&pool).await;
    pool.close().await;
    assert_eq!(lived, clean, "the views differ from a clean replay");
}

/// Sets every rate budget of a `resourcify serve` command to `budget`
/// (e.g. `1000000/s`): out of reach of a test or a benchmark, while the
/// limiters still run.
pub fn set_every_rate_budget(command: &mut std::process::Command, budget: &str) {
    for name in [
        "READS",
        "WRITES",
        "SIGNUPS",
        "LOGINS",
        "LOGIN_FAILURES",
        "LOGIN_FAILURES_PER_ACCOUNT",
        "COMMENTS",
        "FOLLOWS",
    ] {
        command.env(format!("RESOURCIFY_RATE_{name}"), budget);
    }
}
