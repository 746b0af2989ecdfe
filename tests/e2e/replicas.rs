//! Reads from streaming replicas (`RESOURCIFY_READ_DATABASE_URL`), against a
//! PostgreSQL primary and a hot standby of the test's own: reads go to the
//! replica, wait there for a position or answer 503, never bring a lagging
//! replica's answer back into the cache, and move to the primary when the
//! replica lags too far or dies.

use std::time::{Duration, Instant};

use resourcify::NodeSettings;
use resourcify_testkit::engines::PostgresServer;
use resourcify_testkit::spawn_app_configured;
use resourcify_testkit::{TestApp, metric_sample};
use serde_json::json;
use sqlx::PgPool;

/// A primary with a database of the node's, and a streaming replica of it.
async fn primary_and_replica() -> (PostgresServer, PostgresServer) {
    let primary = PostgresServer::start();
    primary.migrated_database("resourcify").await;
    let replica = PostgresServer::replica_of(&primary);
    (primary, replica)
}

/// A node that writes to `primary` and reads from `replica`.
async fn node(
    primary: &PostgresServer,
    replica: &PostgresServer,
    configure: impl FnOnce(&mut NodeSettings),
) -> TestApp {
    let replica_db = replica.options("resourcify");
    let app = spawn_app_configured(primary.options("resourcify"), |s: &mut NodeSettings| {
        s.read_databases = vec![replica_db];
        s.api_pool.acquire_timeout = resourcify_app::READ_WITHIN;
        configure(s);
    })
    .await;
    until_in_rotation(&app, true).await;
    app
}

async fn until_in_rotation(app: &TestApp, in_rotation: bool) {
    let status = &app.node.app.as_ref().expect("an API node").status;
    tokio::time::timeout(
        Duration::from_secs(30),
        status.read_replicas().until_in_rotation("1", in_rotation),
    )
    .await
    .unwrap_or_else(|_| panic!("the replica never went in_rotation={in_rotation}"));
}

/// Stops (or resumes) applying the primary's WAL on the replica: it still
/// answers, with what it had.
async fn pause_replay(replica: &PostgresServer, paused: bool) {
    let pool = PgPool::connect_with(replica.options("resourcify"))
        .await
        .unwrap();
    let call = if paused {
        "SELECT pg_wal_replay_pause()"
    } else {
        "SELECT pg_wal_replay_resume()"
    };
    sqlx::query(call).execute(&pool).await.unwrap();
    pool.close().await;
}

/// The replica's `/readyz` check: its status and why.
async fn replica_check(app: &TestApp) -> (String, Option<String>) {
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200, "a replica never makes a node unready");
    let check = &ready.body["checks"]["read-replica:1"][0];
    (
        check["status"].as_str().unwrap().to_owned(),
        check["output"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn reads_go_to_the_replica_and_a_lagging_replica_never_fills_the_cache() {
    let (primary, replica) = primary_and_replica().await;
    // The replica stays in rotation however far behind: this test is about
    // what is read from it while it lags.
    let app = node(&primary, &replica, |s| {
        s.read_replicas.max_lag = Duration::from_secs(600);
        s.app.read_wait = Duration::from_secs(1);
    })
    .await;
    assert_eq!(replica_check(&app).await, ("pass".to_owned(), None));
    let ada = app.register("ada").await;
    let submitted = app
        .submit(&ada.token, json!({"title": "Read from the replica"}))
        .await;
    let id = submitted.id();
    let path = format!("/v1/resources/{id}");
    // Read-your-writes holds on the replica: the read waits for it there.
    let first = app.get_at(&path, submitted.position()).await;
    assert_eq!(first.status, 200, "{first:#?}");
    assert_eq!(first.body["title"], "Read from the replica");

    pause_replay(&replica, true).await;
    let edited = app
        .patch(
            &path,
            &json!({"title": "Edited on the primary"}),
            &ada.token,
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:#?}");
    let edited_at = edited.position();
    // The replica cannot show the edit: a read that asks for it is refused
    // after the read wait, with a hint to retry.
    let refused = app.get_at(&path, edited_at).await;
    refused.assert_problem(503);
    assert!(refused.header("retry-after").is_some(), "{refused:#?}");
    // A read that asks for no position gets what the replica has (proof
    // that reads go there), and that stale answer is not kept: the edit's
    // notice dropped the cached view before this read began.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Until the edit's notice reaches the node and drops the view.
        let read = app.get(&path).await;
        assert_eq!(read.body["title"], "Read from the replica");
        if read.header("x-cache") == Some("miss") {
            break;
        }
        assert!(Instant::now() < deadline, "the edit's notice never came");
    }
    let stale = app.get(&path).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body["title"], "Read from the replica");
    assert_eq!(stale.header("x-cache"), Some("miss"), "{stale:#?}");

    pause_replay(&replica, false).await;
    let fresh = app.get_at(&path, edited_at).await;
    assert_eq!(fresh.status, 200, "{fresh:#?}");
    assert_eq!(fresh.body["title"], "Edited on the primary");
    let again = app.get(&path).await;
    assert_eq!(again.body["title"], "Edited on the primary");
    // Every read above went to the replica.
    let metrics = app.metrics().await;
    let replica_reads = metric_sample(&metrics, "resourcify_view_reads_total{source=\"replica\"}");
    assert!(replica_reads.unwrap_or_default() >= 4.0, "{metrics}");
}

#[tokio::test]
async fn reads_move_to_the_primary_while_the_replica_lags_too_far_or_is_down() {
    let (primary, mut replica) = primary_and_replica().await;
    let app = node(&primary, &replica, |s| {
        s.read_replicas.max_lag = Duration::from_millis(500);
    })
    .await;
    let ada = app.register("ada").await;

    // Lagging: out of rotation once it has not caught up within max_lag;
    // the read that waited for it is then answered by the primary.
    pause_replay(&replica, true).await;
    let submitted = app
        .submit(
            &ada.token,
            json!({"title": "Written while the replica lags"}),
        )
        .await;
    let id = submitted.id();
    let at = submitted.position();
    let read = app.get_at(&format!("/v1/resources/{id}"), at).await;
    assert_eq!(read.status, 200, "{read:#?}");
    assert_eq!(read.body["title"], "Written while the replica lags");
    until_in_rotation(&app, false).await;
    assert_eq!(
        replica_check(&app).await,
        ("warn".to_owned(), Some("lagging".to_owned()))
    );
    pause_replay(&replica, false).await;
    until_in_rotation(&app, true).await;

    // Down: out of rotation at the first failed poll; reads go on.
    replica.kill();
    until_in_rotation(&app, false).await;
    assert_eq!(
        replica_check(&app).await,
        ("warn".to_owned(), Some("unreachable".to_owned()))
    );
    let listed = app.get("/v1/resources?limit=5").await;
    assert_eq!(listed.status, 200, "{listed:#?}");
    let written = app
        .submit(
            &ada.token,
            json!({"title": "Written while the replica is down"}),
        )
        .await;
    assert_eq!(written.status, 201, "{written:#?}");
    let id = written.id();
    let at = written.position();
    let read = app.get_at(&format!("/v1/resources/{id}"), at).await;
    assert_eq!(read.status, 200, "{read:#?}");

    // Back: it catches up on the WAL it missed and rejoins.
    replica.run();
    until_in_rotation(&app, true).await;
    let read = app.get_at(&format!("/v1/resources/{id}"), at).await;
    assert_eq!(read.body["title"], "Written while the replica is down");
}
