//! Starting and stopping a node.

use std::net::SocketAddr;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use resourcify_api::RateLimits;
use resourcify_app::{App, Backends, ReadReplicas, ViewPositions};
use resourcify_eventstore::{
    EventStore, EventStoreSettings, IdempotencyKeys, Leases, ReservationBook, StreamTickets,
};
use resourcify_news::Ingester;
use resourcify_news::fetch::Fetcher;
use resourcify_projector::{Projection, ProjectorSettings, Projectors};
use resourcify_readmodel::{MIGRATOR, PoolSettings, ReadModel};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::NodeSettings;
use crate::connect::{connect_nats_watched, reach_postgres};
use crate::metrics_endpoint;
use crate::priority::BackgroundRuntime;

/// Creates the database if it does not exist and applies pending migrations.
pub async fn migrate(database: &PgConnectOptions) -> anyhow::Result<()> {
    reach_postgres(database).await?;
    let url = database.to_url_lossy().to_string();
    if !sqlx::Postgres::database_exists(&url).await? {
        sqlx::Postgres::create_database(&url)
            .await
            .context("creating the database")?;
        tracing::info!("created database");
    }
    let pool = sqlx::PgPool::connect_with(database.clone()).await?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    pool.close().await;
    Ok(())
}

/// How long a stopping node waits for its projectors' last batches and
/// its ingester's polls under way (a fetch's own limit is 10 s by default).
const WORKERS_STOP_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// A started node. Dropping it stops every task it started.
#[derive(Debug)]
pub struct RunningNode {
    /// Where the API listens (the real port when the settings asked for port 0).
    pub addr: Option<SocketAddr>,
    /// Where `/metrics` is served, apart from the API (the operator
    /// address; none when the settings turned it off).
    pub metrics_addr: Option<SocketAddr>,
    pub store: EventStore,
    /// The application behind the API (API role only).
    pub app: Option<App>,
    shutdown: Option<oneshot::Sender<()>>,
    /// The API's server, which a stop lets finish its requests.
    http_server: Option<JoinHandle<()>>,
    /// Tells the projectors to commit what they hold, and the ingester to
    /// finish its polls and give their leases back, and both to end.
    stop_workers: watch::Sender<bool>,
    /// The projectors and the ingester: they end when told to.
    workers: Vec<JoinHandle<()>>,
    /// Everything else, which runs until it is ended.
    tasks: Vec<JoinHandle<()>>,
    /// Closed by `shut_down`: connections still open keep the database in use.
    pools: Vec<PgPool>,
    /// Where the workers run (a node with a projector or ingest role):
    /// dropped last, after everything that may use it.
    background: Option<BackgroundRuntime>,
}

impl RunningNode {
    /// After `stop`: lets the API's server finish the requests in flight
    /// (up to its grace period), then ends everything else and closes the
    /// pools, so that the process can exit.
    pub async fn wait(mut self) {
        if let Some(server) = self.http_server.take() {
            let _ = server.await;
        }
        // The projectors' last batches and the ingester's last polls,
        // unless Postgres or a feed keeps them waiting: the checkpoints make
        // an abort safe too, and a lease not given back expires.
        let ending = futures::future::join_all(self.workers.drain(..));
        let _ = tokio::time::timeout(WORKERS_STOP_WITHIN, ending).await;
        self.shut_down().await;
    }

    /// Stops taking work: `/readyz` fails and open streams end with a hint
    /// to reconnect at once, then the server stops accepting connections and
    /// lets the requests in flight finish.
    pub fn stop(&mut self) {
        if let Some(app) = &self.app {
            app.status.begin_draining();
        }
        self.stop_workers.send_replace(true);
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Stops everything and waits until every database connection of the
    /// node is closed. Open streams keep the API's pool alive after the
    /// server stops, so dropping the node alone may leave connections open
    /// for a while.
    pub async fn shut_down(mut self) {
        self.stop();
        let running = self.tasks.drain(..).chain(self.http_server.take());
        for task in running.chain(self.workers.drain(..)) {
            task.abort();
            let _ = task.await;
        }
        for pool in self.pools.drain(..) {
            pool.close().await;
        }
        // Its connections closed, the workers' runtime has nothing left.
        drop(self.background.take());
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        self.stop();
        let running = self.tasks.iter().chain(&self.http_server);
        for task in running.chain(&self.workers) {
            task.abort();
        }
    }
}

/// Connects to NATS and Postgres and starts the node's roles.
pub async fn start(settings: NodeSettings) -> anyhow::Result<RunningNode> {
    crate::install_metrics();
    // https feeds need rustls, which then backs every reqwest client of
    // the process; the plain ones need a provider installed.
    resourcify_news::fetch::install_crypto_provider();
    if settings.migrate {
        migrate(&settings.database).await?;
    } else {
        // The pools would wait out their acquire timeout for an address
        // nobody answers at, and then say only that they timed out.
        reach_postgres(&settings.database).await?;
    }
    let (nats, connection) = connect_nats_watched(&settings.nats_url).await?;
    let mut store_settings = EventStoreSettings::new(settings.namespace.clone());
    store_settings.replicas = settings.replicas;
    let mut store = EventStore::open(nats.clone(), store_settings)
        .await
        .context("opening the event stream")?;
    store.follow_connection(connection);

    let mut tasks = vec![tokio::spawn(metrics_endpoint::keep_up())];
    let mut metrics_addr = None;
    if let Some(listen) = settings.metrics_listen {
        let (bound, server) = metrics_endpoint::serve_metrics(listen).await?;
        tracing::info!(%bound, "metrics on the operator address");
        metrics_addr = Some(bound);
        tasks.push(server);
    }
    let mut pools = Vec::new();
    let stop_workers = watch::Sender::new(false);
    // The workers yield the CPU to the requests (ADR 25).
    let background = (settings.roles.projector || settings.roles.ingest)
        .then(BackgroundRuntime::start)
        .transpose()
        .context("starting the background runtime")?;
    let background_work = background.as_ref().map(BackgroundRuntime::handle);
    let mut workers = Vec::new();
    if settings.roles.projector {
        let pool =
            resourcify_readmodel::connect(settings.database.clone(), &settings.projector_pool)
                .await
                .context("connecting the projector pool")?;
        pools.push(pool.clone());
        let projectors = Projectors {
            projections: Projection::ALL.to_vec(),
            store: store.clone(),
            pool,
            nats: nats.clone(),
            settings: ProjectorSettings::default(),
        };
        // One projector node is active at a time; the others stand by.
        let leases = Leases::open(
            store.jetstream(),
            &settings.namespace,
            Leases::PROJECTORS,
            resourcify_projector::LEASE_LIFETIME,
            settings.replicas,
            format!("pid-{}-{}", std::process::id(), uuid::Uuid::now_v7()),
        )
        .await
        .context("opening the projector lease bucket")?;
        let mut stopping = stop_workers.subscribe();
        let stop = async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        };
        let background_work = background_work.expect("started for the projector role");
        workers.push(
            background_work.spawn(resourcify_projector::run_when_leading(
                projectors, leases, stop,
            )),
        );
    }

    if settings.roles.ingest {
        let (ingester, pool) = start_ingester(&settings, &store).await?;
        pools.push(pool);
        let background_work = background_work.expect("started for the ingest role");
        workers.push(background_work.spawn(ingester.run(stop_workers.subscribe())));
    }

    let (shutdown, shutdown_requested) = oneshot::channel();
    let (mut addr, mut api_app, mut http_server) = (None, None, None);
    if settings.roles.api {
        let pool = resourcify_readmodel::connect(settings.database.clone(), &settings.api_pool)
            .await
            .context("connecting the API pool")?;
        pools.push(pool.clone());
        let reads = ReadModel::new(pool, settings.slow_query);
        let positions = ViewPositions::new(reads.clone());
        let mut replica_reads = Vec::new();
        for replica in &settings.read_databases {
            // Lazily: a replica down at start joins the rotation once it answers.
            let pool = resourcify_readmodel::connect_lazy(replica.clone(), &settings.api_pool);
            pools.push(pool.clone());
            replica_reads.push(ReadModel::new(pool, settings.slow_query));
        }
        let replicas = ReadReplicas::new(replica_reads, settings.read_replicas.clone());
        tasks.push(tokio::spawn(replicas.clone().follow(positions.clone())));
        let reservations = ReservationBook::open(&store)
            .await
            .context("opening the reservation buckets")?;
        let idempotency_keys =
            IdempotencyKeys::open(store.jetstream(), &settings.namespace, settings.replicas)
                .await
                .context("opening the idempotency-key bucket")?;
        let stream_tickets = StreamTickets::open(&store)
            .await
            .context("opening the stream-ticket bucket")?;
        let backends = Backends {
            store: store.clone(),
            reservations,
            idempotency_keys,
            stream_tickets,
            reads,
            replicas,
            positions,
        };
        let allow_hosts = settings.news_fetch.allow_hosts.clone();
        let app = App::new(backends, settings.app.clone(), allow_hosts);
        let follower = app.clone().follow_view_notices(nats.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(error) = follower.await {
                tracing::error!(%error, "view notices unavailable; reads fall back to polling");
            }
        }));
        tasks.push(tokio::spawn(
            app.status.clone().watch_health(Duration::from_secs(5)),
        ));
        tasks.push(tokio::spawn(app.changes.clone().follow()));
        tasks.push(tokio::spawn(app.sessions.clone().follow_the_log()));
        let limits = Arc::new(RateLimits::new(&settings.api.rate_limits));
        tasks.push(tokio::spawn(housekeeping(limits.clone())));

        let acceptor = TcpListener::bind(settings.listen)
            .into_acceptor()
            .await
            .with_context(|| format!("listening on {}", settings.listen))?;
        let local = acceptor
            .local_addr()
            .into_iter()
            .find_map(|a| a.as_socket_addr().copied())
            .context("the listener has no socket address")?;
        addr = Some(local);
        api_app = Some(app.clone());
        tracing::info!(%local, "API listening");
        // A waiting read sends nothing until its view catches up: no
        // connection is closed as idle before the read wait is over.
        let idle = (settings.api.idle_connection_timeout)
            .max(settings.app.read_wait + std::time::Duration::from_secs(1));
        let acceptor = crate::idle_connections::ClosingIdle::new(acceptor, idle);
        let server = poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
            resourcify_api::routes(app, &settings.api, limits),
            async move {
                let _ = shutdown_requested.await;
            },
            Some(std::time::Duration::from_secs(10)),
        );
        http_server = Some(tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "HTTP server failed");
            }
        }));
    }

    Ok(RunningNode {
        addr,
        metrics_addr,
        store,
        app: api_app,
        shutdown: Some(shutdown),
        http_server,
        stop_workers,
        workers,
        tasks,
        pools,
        background,
    })
}

/// The news ingester, with its own small pool: it reads only which sources
/// are due.
async fn start_ingester(
    settings: &NodeSettings,
    store: &EventStore,
) -> anyhow::Result<(Ingester, PgPool)> {
    let pool = resourcify_readmodel::connect(
        settings.database.clone(),
        &PoolSettings {
            max_connections: 2,
            ..settings.projector_pool.clone()
        },
    )
    .await
    .context("connecting the ingester pool")?;
    let js = store.jetstream();
    let reservations = ReservationBook::open(store)
        .await
        .context("opening the reservation buckets")?;
    let holder = format!("pid-{}-{}", std::process::id(), uuid::Uuid::now_v7());
    let leases = Leases::open(
        js,
        &settings.namespace,
        Leases::NEWS_SOURCES,
        settings.ingester.lease,
        settings.replicas,
        holder,
    )
    .await
    .context("opening the news source leases")?;
    let ingester = Ingester::new(
        store.clone(),
        ReadModel::new(pool.clone(), settings.slow_query),
        reservations,
        leases,
        Fetcher::new(settings.news_fetch.clone()),
        settings.ingester.clone(),
    );
    Ok((ingester, pool))
}

/// A periodic chore of an API node: drop idle rate-limit state.
async fn housekeeping(limits: Arc<RateLimits>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(10));
    loop {
        ticker.tick().await;
        limits.forget_idle_clients();
    }
}
