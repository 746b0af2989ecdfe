//! Replay: every projection rebuilt from the first event beside the live
//! tables while a client reads without pause; afterwards the views equal
//! those before. An interrupted replay resumes where it stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use reqwest::Method;
use resourcify_projector::{Projection, ReplayError, ReplayPace, ReplaySettings, replay};
use resourcify_testkit::{TestApp, spawn_app, views_digest};
use serde_json::json;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// A little of everything: users, follows, resources with votes, an edit, a
/// hidden one, comments, bookmarks, votes taken back. Returns the ids of
/// the resources, in order.
async fn history(app: &TestApp) -> Vec<String> {
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    app.put("/v1/me/followed-tags/rust", &grace.token).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let tags = if i % 2 == 0 {
            json!(["rust"])
        } else {
            json!(["go", "cloud"])
        };
        let submitted = app
            .submit(
                &ada.token,
                json!({"title": format!("Resource number {i}"), "tags": tags}),
            )
            .await;
        ids.push(submitted.id());
    }
    for id in ids.iter().step_by(3) {
        app.put(&format!("/v1/resources/{id}/vote"), &grace.token)
            .await;
        app.put(&format!("/v1/resources/{id}/bookmark"), &grace.token)
            .await;
        app.request(
            Method::POST,
            &format!("/v1/resources/{id}/comments"),
            Some(&json!({"body": "Good one."})),
            Some(&grace.token),
            None,
        )
        .await;
    }
    // Votes taken back: one count goes from two to one, another to none.
    app.put(&format!("/v1/resources/{}/vote", ids[3]), &moderator.token)
        .await;
    app.delete(&format!("/v1/resources/{}/vote", ids[3]), &grace.token)
        .await;
    app.delete(&format!("/v1/resources/{}/vote", ids[6]), &grace.token)
        .await;
    app.patch(
        &format!("/v1/resources/{}", ids[1]),
        &json!({"title": "Edited"}),
        &ada.token,
    )
    .await;
    app.request(
        Method::POST,
        &format!("/v1/resources/{}/hide", ids[2]),
        Some(&json!({"reason": "Spam, clearly."})),
        Some(&moderator.token),
        None,
    )
    .await;
    ids
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn replaying_everything_under_reads_changes_nothing_and_fails_no_read(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db.clone()).await;
    let ids = history(&app).await;
    let watched = ids[0].clone();
    let head = app.wait_until_caught_up().await;
    let before = views_digest(app.reads.pool()).await;
    let expected_detail = app
        .get_at(&format!("/v1/resources/{watched}"), head)
        .await
        .body;
    let expected_list = app
        .get_at("/v1/resources?tag=rust&limit=5", head)
        .await
        .body;

    // A client reads without pause from a node that caches nothing, so
    // every read goes to the tables being swapped.
    let reader = app
        .another_api_node_configured(|s| s.app.cache_capacity = 0)
        .await;
    let indexes = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        )
        .fetch_all(app.reads.pool())
        .await
        .unwrap()
    };
    let indexes_before = indexes().await;
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let client = {
        let (done, reads, http) = (done.clone(), reads.clone(), app.http.clone());
        let base = reader.base_url.clone();
        let watched = watched.clone();
        tokio::spawn(async move {
            let mut failures = Vec::new();
            while !done.load(Ordering::SeqCst) {
                for path in [
                    format!("/v1/resources/{watched}"),
                    "/v1/resources?tag=rust&limit=5".into(),
                ] {
                    let response = http.get(format!("{base}{path}")).send().await.unwrap();
                    let status = response.status();
                    let body: serde_json::Value = response.json().await.unwrap();
                    if !status.is_success() {
                        failures.push(format!("{path}: {status} {body}"));
                    }
                    reads.fetch_add(1, Ordering::SeqCst);
                }
            }
            failures
        })
    };

    let settings = ReplaySettings {
        batch_size: 7,
        restart: false,
        pace: ReplayPace::Gentle,
    };
    for projection in Projection::ALL {
        let report = replay(&app.store, &db, projection, &settings, |_| {})
            .await
            .unwrap();
        assert_eq!(report.resumed_from, 0);
        assert_eq!(report.switched_at, head, "{report:?}");
    }
    done.store(true, Ordering::SeqCst);
    let failures = client.await.unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(reads.load(Ordering::SeqCst) > 10, "the client kept reading");

    assert_eq!(views_digest(app.reads.pool()).await, before);
    assert_eq!(
        indexes().await,
        indexes_before,
        "the new tables keep the index names"
    );
    // Served correctly afterwards too, by both nodes, and writes go on.
    let detail = app.get(&format!("/v1/resources/{watched}")).await;
    assert_eq!(detail.body, expected_detail);
    for (index, votes) in [(0, 1), (3, 1), (6, 0), (1, 0)] {
        let resource = app.get(&format!("/v1/resources/{}", ids[index])).await;
        assert_eq!(resource.body["votes"], votes, "resource {index}");
    }
    let list = reqwest::get(format!("{}/v1/resources?tag=rust&limit=5", reader.base_url))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(list, expected_list);
    let ada = app.login("ada", resourcify_testkit::PASSWORD, 0).await;
    let token = ada.body["access_token"].as_str().unwrap();
    let after = app.submit(token, json!({"tags": ["rust"]})).await;
    assert_eq!(after.status, 201);
    let at = after.position();
    let listed = app.get_at("/v1/resources?tag=rust&limit=1", at).await;
    assert_eq!(listed.body["items"][0]["id"], after.body["id"]);
    // No schema of the replay is left behind.
    let leftovers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'replay\\_%' OR nspname LIKE 'retired\\_%'",
    )
    .fetch_one(app.reads.pool())
    .await
    .unwrap();
    assert_eq!(leftovers, 0);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn an_interrupted_replay_resumes_where_it_stopped(_: PgPoolOptions, db: PgConnectOptions) {
    let (app, before) = projected_history(&db).await;

    // Stopped after its first batch, as by Ctrl-C.
    let settings = SMALL_BATCHES;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut stop = Some(stop);
    let interrupted = replay(&app.store, &db, Projection::Resources, &settings, |_| {
        if let Some(stop) = stop.take() {
            let _ = stop.send(());
        }
    });
    tokio::select! {
        _ = interrupted => panic!("the replay should have been interrupted"),
        _ = stopped => {}
    }

    // The command line picks it up again.
    let resumed: u64 = sqlx::query_scalar::<_, i64>(
        "SELECT position FROM replay_resources.projection_checkpoints WHERE projection = 'resources'",
    )
    .fetch_one(app.reads.pool())
    .await
    .unwrap() as u64;
    assert!(resumed >= 10, "the first batch was kept: {resumed}");
    app.operator(&["replay", "resources"]).await.unwrap();
    assert_eq!(views_digest(app.reads.pool()).await, before);
}

/// A replay's commits do not wait for the disk, so Postgres can come back
/// from a crash without the last of them while the replay runs on. The
/// replay then stops with an error instead of building tables with a gap,
/// and run again it resumes from what the database kept.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_replay_whose_database_lost_commits_stops_and_resumes_from_what_was_kept(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (app, before) = projected_history(&db).await;
    let settings = SMALL_BATCHES;
    let mut forgotten = false;
    let stopped = replay(
        &app.store,
        &db,
        Projection::Resources,
        &settings,
        |progress| {
            if !forgotten && progress.position >= 20 {
                forgotten = true;
                forget_replay_of_resources(&db);
            }
        },
    )
    .await;
    match stopped {
        Err(ReplayError::LostCommits { kept: 0, .. }) => {}
        other => panic!("the replay should have stopped: {other:?}"),
    }

    replay(&app.store, &db, Projection::Resources, &settings, |_| {})
        .await
        .unwrap();
    assert_eq!(views_digest(app.reads.pool()).await, before);
}

/// Replays in batches of 10, so that the history takes several.
const SMALL_BATCHES: ReplaySettings = ReplaySettings {
    batch_size: 10,
    restart: false,
    pace: ReplayPace::Gentle,
};

/// An app whose projectors have projected [`history`], and its views'
/// digest.
async fn projected_history(db: &PgConnectOptions) -> (TestApp, Vec<(String, i64, String)>) {
    let app = spawn_app(db.clone()).await;
    history(&app).await;
    app.wait_until_caught_up().await;
    let digest = views_digest(app.reads.pool()).await;
    (app, digest)
}

/// The replay's tables and checkpoint as before its first commit. Called
/// between two of its batches, from its progress callback, which cannot
/// await: the statements run on a thread and runtime of their own.
fn forget_replay_of_resources(db: &PgConnectOptions) {
    let db = db.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut conn = db.connect().await.unwrap();
            for table in Projection::Resources.tables() {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "TRUNCATE replay_resources.{table}"
                )))
                .execute(&mut conn)
                .await
                .unwrap();
            }
            sqlx::query("UPDATE replay_resources.projection_checkpoints SET position = 0")
                .execute(&mut conn)
                .await
                .unwrap();
        });
    })
    .join()
    .unwrap();
}

/// A database that crashes mid-replay (a server of the test's own, stopped
/// as a crash would) stops the replay; run again, it resumes from what the
/// database kept, rows and checkpoint having been committed together, and
/// builds the same views as before.
#[tokio::test]
async fn a_replay_cut_short_by_a_database_crash_resumes_and_builds_the_same_views() {
    let mut server = resourcify_testkit::engines::PostgresServer::start();
    let db = server.migrated_database("replay_crash").await;
    let (app, before) = projected_history(&db).await;
    let mut crashed = false;
    let stopped = replay(
        &app.store,
        &db,
        Projection::Resources,
        &SMALL_BATCHES,
        |progress| {
            if !crashed && progress.position >= 20 {
                crashed = true;
                server.kill();
                server.run();
            }
        },
    )
    .await;
    assert!(crashed && stopped.is_err(), "{stopped:?}");

    replay(
        &app.store,
        &db,
        Projection::Resources,
        &SMALL_BATCHES,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(views_digest(app.reads.pool()).await, before);
}
