//! What a client sees while a part is down, against engines of the test's
//! own (the shared servers are never stopped): answers come fast and say
//! what happened, and nothing acknowledged is lost or applied twice.

use std::time::{Duration, Instant};

use async_nats::jetstream::kv::Operation;
use futures::StreamExt;
use reqwest::Method;
use resourcify::{NodeSettings, Roles};
use resourcify_eventstore::Leases;
use resourcify_testkit::engines::{NatsCluster, NatsServer, PostgresServer};
use resourcify_testkit::{PASSWORD, TestApp, spawn_app_configured, views_digest};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Asks `/readyz` once, once the condition it reports on holds: it says
/// `status`, and answers within a second whatever is down.
async fn assert_readyz(app: &TestApp, status: u16) {
    let asked = Instant::now();
    let answer = app.get("/readyz").await;
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "/readyz took {:?}",
        asked.elapsed()
    );
    assert_eq!(answer.status, status, "{answer:#?}");
}

/// Waits until the node's NATS client reports the connection `up` or down.
async fn until_connected(app: &TestApp, up: bool) {
    tokio::time::timeout(Duration::from_secs(30), app.store.until_connected(up))
        .await
        .unwrap_or_else(|_| panic!("the node's connection never became {up}"));
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn while_nats_is_down_writes_fail_fast_and_a_retry_appends_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let mut nats = NatsServer::start();
    let url = nats.url();
    let app = spawn_app_configured(db, |s: &mut NodeSettings| s.nats_url = url).await;
    let ada = app.register("ada").await;
    app.wait_until_caught_up().await;
    assert_readyz(&app, 200).await;

    nats.stop();
    until_connected(&app, false).await;
    assert_readyz(&app, 503).await;
    let submit = |key: &'static str| {
        app.request(
            Method::POST,
            "/v1/resources",
            Some(&json!({
                "url": "https://example.org/written-while-nats-was-away",
                "title": "Written while NATS was away",
                "kind": "article",
                "tags": ["rust"],
            })),
            Some(&ada.token),
            Some(key),
        )
    };
    for _ in 0..3 {
        let asked = Instant::now();
        let refused = submit("while-away").await;
        let took = asked.elapsed();
        refused.assert_problem(503);
        assert!(refused.header("retry-after").is_some(), "{refused:#?}");
        assert!(
            took < Duration::from_secs(2),
            "a write took {took:?} to fail"
        );
    }
    // Reads that the views can answer go on.
    let me = app
        .request(Method::GET, "/v1/me", None, Some(&ada.token), None)
        .await;
    assert_eq!(me.status, 200, "{me:#?}");

    nats.run();
    until_connected(&app, true).await;
    assert_readyz(&app, 200).await;
    let first = submit("while-away").await;
    assert_eq!(first.status, 201, "{first:#?}");
    let again = submit("while-away").await;
    assert_eq!(again.status, 201, "{again:#?}");
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(first.body["position"], again.body["position"]);
    // The projectors open the log again as soon as the connection is back
    // (not after the feed's missed heartbeats): a read of one's own write
    // waits for it within the usual read wait.
    let position = first.position();
    let listed = app.get_at("/v1/resources?limit=10", position).await;
    let titles: Vec<_> = listed.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed:#?}"))
        .iter()
        .filter(|r| r["title"] == "Written while NATS was away")
        .collect();
    assert_eq!(titles.len(), 1, "applied once: {listed:#?}");
}

#[tokio::test]
async fn while_postgres_is_down_writes_go_on_and_a_logout_still_holds() {
    let mut postgres = PostgresServer::start();
    let database = postgres.migrated_database("resourcify").await;
    // As `serve` sets it: a request waits a second at most for a connection.
    let app = spawn_app_configured(database, |s: &mut NodeSettings| {
        s.api_pool.acquire_timeout = resourcify_app::READ_WITHIN;
    })
    .await;
    let ada = app.register("ada").await;
    let other_session = app.login("ada", PASSWORD, ada.position).await;
    let other_token = other_session.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = app.submit(&ada.token, json!({})).await;
    let kept_id = kept.id();
    let kept_at = kept.position();
    // Both sessions have been used on this node, and the resource read once.
    let warm = app
        .get_at(&format!("/v1/resources/{kept_id}"), kept_at)
        .await;
    assert_eq!(warm.status, 200);
    let me = app
        .request(Method::GET, "/v1/me", None, Some(&other_token), None)
        .await;
    assert_eq!(me.status, 200, "{me:#?}");

    // `pg_ctl -w` returns once the server is down.
    postgres.stop();
    assert_readyz(&app, 503).await;
    // Writes need only NATS: accepted, fast enough for any client.
    let asked = Instant::now();
    let written = app
        .request(
            Method::POST,
            "/v1/resources",
            Some(&json!({
                "url": "https://example.org/written-while-postgres-was-away",
                "title": "Written while Postgres was away",
                "kind": "article",
                "tags": ["rust"],
            })),
            Some(&ada.token),
            Some("while-postgres-is-away"),
        )
        .await;
    assert_eq!(written.status, 201, "{written:#?}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    // A cached read answers; one that must reach Postgres fails, and fast.
    let cached = app.get(&format!("/v1/resources/{kept_id}")).await;
    assert_eq!(cached.status, 200, "{cached:#?}");
    assert_eq!(cached.header("x-cache"), Some("hit"));
    let asked = Instant::now();
    let uncached = app.get("/v1/resources?tag=go").await;
    uncached.assert_problem(503);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    // Logging out the other session is a write too, and it holds at once.
    let logout = app
        .request(
            Method::DELETE,
            "/v1/sessions/current",
            None,
            Some(&other_token),
            None,
        )
        .await;
    assert!(logout.status.is_success(), "{logout:#?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let refused = app
            .request(
                Method::PUT,
                "/v1/me/followed-tags/go",
                None,
                Some(&other_token),
                None,
            )
            .await;
        if refused.status == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the logged-out token still works: {refused:#?}"
        );
    }

    // `pg_ctl -w` returns once the server accepts connections.
    postgres.run();
    app.wait_until_caught_up().await;
    assert_readyz(&app, 200).await;
    let titles: Vec<_> = app.get("/v1/resources?limit=10").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["title"] == "Written while Postgres was away")
        .cloned()
        .collect();
    assert_eq!(titles.len(), 1);
}

/// A write that may meet a short pause: retried with its key until it is
/// acknowledged, and how long that took.
async fn submit_until_acknowledged(app: &TestApp, token: &str, n: usize) -> (String, Duration) {
    let started = Instant::now();
    let key = format!("cluster-write-{n}");
    loop {
        let answer = app
            .request(
                Method::POST,
                "/v1/resources",
                Some(&json!({
                    "url": format!("https://example.org/cluster/{n}"),
                    "title": format!("Written to the cluster, number {n}"),
                    "kind": "article",
                    "tags": ["rust"],
                })),
                Some(token),
                Some(&key),
            )
            .await;
        match answer.status.as_u16() {
            201 => {
                return (answer.id(), started.elapsed());
            }
            503 => assert!(answer.header("retry-after").is_some(), "{answer:#?}"),
            _ => panic!("{answer:#?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "write {n} not acknowledged within 30 s: {answer:#?}"
        );
    }
}

/// A three-server JetStream cluster with the stream and the buckets
/// replicated three times: the server the node is connected to is killed,
/// the node moves to another, and writes go on after at most a short pause;
/// every acknowledged write is in the views exactly once.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn writes_go_on_when_the_nats_server_a_node_uses_is_killed(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let mut cluster = NatsCluster::start(3);
    cluster.wait_for_jetstream().await;
    let urls = cluster.urls();
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.nats_url = urls;
        s.replicas = 3;
    })
    .await;
    let ada = app.register("ada").await;
    let mut acknowledged = Vec::new();
    for n in 0..5 {
        acknowledged.push(submit_until_acknowledged(&app, &ada.token, n).await.0);
    }

    let port = app.store.server_port();
    cluster.node_on(port).expect("a member").kill();
    let mut longest_pause = Duration::ZERO;
    for n in 5..15 {
        let (id, took) = submit_until_acknowledged(&app, &ada.token, n).await;
        longest_pause = longest_pause.max(took);
        acknowledged.push(id);
    }
    assert_ne!(
        app.store.server_port(),
        port,
        "the node moved to another server"
    );
    // The pause is JetStream electing new leaders for what the killed
    // server led (2 to 3 requests timing out at 2 s each on 2.9.10); the
    // node itself reconnects within milliseconds.
    eprintln!(
        "one NATS server of three killed: 10 writes acknowledged, longest pause {longest_pause:?}"
    );
    cluster.node_on(port).expect("a member").run();

    app.wait_until_caught_up().await;
    let listed = app.get("/v1/resources?limit=100").await;
    let mut ids: Vec<String> = listed.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed:#?}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    acknowledged.sort();
    assert_eq!(ids, acknowledged, "every acknowledged write, once");
}

/// Who holds the projector lease of the app's namespace.
async fn projector_leases(app: &TestApp) -> async_nats::jetstream::kv::Store {
    app.store
        .jetstream()
        .get_key_value(app.namespace.bucket(Leases::PROJECTORS))
        .await
        .unwrap()
}

async fn projector_lease_holder(app: &TestApp) -> Option<String> {
    projector_leases(app)
        .await
        .get("projectors")
        .await
        .unwrap()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// The first node to take the projector lease, once one has: a node's
/// projectors start on threads of their own, after `start` returns.
async fn until_projector_lease_holder(app: &TestApp) -> String {
    let mut updates = projector_leases(app)
        .await
        .watch_with_history("projectors")
        .await
        .unwrap();
    let taken = async {
        while let Some(update) = updates.next().await {
            let update = update.unwrap();
            if update.operation == Operation::Put {
                return String::from_utf8_lossy(&update.value).into_owned();
            }
        }
        panic!("the lease bucket's watch ended");
    };
    tokio::time::timeout(Duration::from_secs(30), taken)
        .await
        .expect("a node takes the projector lease")
}

/// Two projector nodes: one is active, the other stands by (they no longer
/// take turns batch by batch). The active one dies without a word, as with
/// kill -9: the standby takes over within the lease's lifetime and a poll,
/// and the views go on with nothing applied twice and nothing skipped.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_standby_projector_takes_over_within_seconds_when_the_active_one_dies(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| s.roles = Roles::API_ONLY).await;
    let first = app.another_node_with(Roles::PROJECTOR_ONLY).await;
    let active = until_projector_lease_holder(&app).await;
    let second = app.another_node_with(Roles::PROJECTOR_ONLY).await;
    let ada = app.register("ada").await;
    for n in 0..5 {
        let written = app
            .submit(&ada.token, json!({"title": format!("Before, number {n}")}))
            .await;
        assert_eq!(written.status, 201);
    }
    app.wait_until_caught_up().await;
    assert_eq!(
        projector_lease_holder(&app).await,
        Some(active.clone()),
        "one active node"
    );

    // Dropping a node aborts its tasks mid-flight: nothing is handed back.
    drop(first);
    let died = Instant::now();
    let mut written_after = Vec::new();
    for n in 0..5 {
        let written = app
            .submit(&ada.token, json!({"title": format!("After, number {n}")}))
            .await;
        written_after.push(written.position());
    }
    let last = *written_after.last().unwrap();
    // Each read waits for the position as long as reads do (5 s here).
    let listed = loop {
        let listed = app.get_at("/v1/resources?limit=20", last).await;
        if listed.status == 200 {
            break listed;
        }
        assert!(died.elapsed() < Duration::from_secs(20), "{listed:#?}");
    };
    assert_eq!(listed.status, 200, "{listed:#?}");
    let took = died.elapsed();
    assert!(took < Duration::from_secs(10), "the standby took {took:?}");
    assert_ne!(
        projector_lease_holder(&app).await,
        Some(active),
        "the standby holds it"
    );
    eprintln!("a standby projector took over {took:?} after the active one died");
    app.wait_until_caught_up().await;
    let before = views_digest(app.reads.pool()).await;
    // Every projection at once; the other suites replay at the gentle pace.
    app.operator(&["replay", "--all", "--full-speed"])
        .await
        .unwrap();
    assert_eq!(
        views_digest(app.reads.pool()).await,
        before,
        "views equal a replay"
    );
    drop(second);
}
