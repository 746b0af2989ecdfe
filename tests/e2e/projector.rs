//! The projector applies each event exactly once: across restarts and when
//! a batch is delivered again.

use futures::StreamExt;
use resourcify_projector::{Projection, apply_batch};
use resourcify_readmodel::{PoolSettings, ViewNotice};
use resourcify_testkit::{
    Registered, TestApp, metric_sample, spawn_api_only, spawn_app, views_digest,
};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_restarted_projector_applies_no_event_twice(_: PgPoolOptions, db: PgConnectOptions) {
    let (app, pool, author) = five_submissions_unprojected(db).await;

    let first = app.start_projectors(3).await;
    let head = app.wait_until_caught_up().await;
    drop(first);
    let before = views_digest(&pool).await;
    let rows = |table: &str| before.iter().find(|(t, _, _)| t == table).unwrap().1;
    assert_eq!(rows("resources"), 5, "{before:?}");
    // In all, its two tags, its kind and its author's lists.
    assert_eq!(rows("resource_listings"), 5 * 5, "{before:?}");

    // The whole log delivered again, as after a crash between commit and
    // acknowledgement, changes nothing and applies nothing.
    let everything: Vec<_> = app
        .store
        .feed_after(0)
        .await
        .unwrap()
        .take(head as usize)
        .map(|e| e.unwrap())
        .collect()
        .await;
    for projection in Projection::ALL {
        let mut tx = pool.begin().await.unwrap();
        let outcome = apply_batch(&mut tx, projection, &everything).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(outcome.applied, 0, "{projection:?}");
        assert_eq!(outcome.checkpoint, head, "{projection:?}");
    }
    assert_eq!(views_digest(&pool).await, before);

    // A new instance over the same database resumes after the checkpoint.
    submit_some(&app, &author.token, 5..8).await;
    let second = app.start_projectors(3).await;
    let new_head = app.wait_until_caught_up().await;
    assert_eq!(new_head, head + 3);
    let after = views_digest(&pool).await;
    let rows = |table: &str| after.iter().find(|(t, _, _)| t == table).unwrap().1;
    assert_eq!(rows("resources"), 8, "{after:?}");
    assert_eq!(rows("resource_listings"), 8 * 5, "{after:?}");
    let users = |digest: &[(String, i64, String)]| {
        digest
            .iter()
            .find(|(t, _, _)| t == "user_credentials")
            .cloned()
    };
    assert_eq!(users(&after), users(&before), "users unchanged");
    drop(second);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn projectors_that_fell_behind_catch_up_in_batches_no_larger_than_set(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_api_only(db).await;
    let author = app.register("ada").await;
    submit_some(&app, &author.token, 0..50).await;
    let head = app.head().await;
    let notices = app
        .nats
        .subscribe(app.namespace.view_notice_subject("resources"))
        .await
        .unwrap();

    // All five projections follow one reader, from the lowest checkpoint
    // (users is ahead: registering needed it).
    let _projectors = app.start_projectors(20).await;
    app.wait_until_caught_up().await;

    // Each commit is announced with the position it reached.
    let mut positions = Vec::new();
    let mut notices = notices;
    while positions.last() != Some(&head) {
        let notice = tokio::time::timeout(std::time::Duration::from_secs(5), notices.next())
            .await
            .expect("a notice per commit")
            .unwrap();
        let notice: ViewNotice = serde_json::from_slice(&notice.payload).unwrap();
        positions.push(notice.position);
    }
    let mut previous = 0;
    for &position in &positions {
        assert!(
            position > previous && position - previous <= 20,
            "a batch of more than 20 events, or out of order: {positions:?}"
        );
        previous = position;
    }
    assert!(positions.len() >= 3, "{positions:?}");
    let listed = app.get("/v1/resources?limit=100").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 50);
}

/// Commits the projector saw succeed can still be lost: a failover to a
/// replica that had not received them, a restored backup, an operator
/// resetting a projection. Its checkpoint then goes back. A running
/// projector notices at its next batch and applies the lost events again,
/// instead of going on from where it thought it was.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_projector_whose_database_lost_commits_applies_them_again(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let (app, pool, author) = five_submissions_unprojected(db).await;
    let running = app.start_projectors(4).await;
    app.wait_until_caught_up().await;

    // The database goes back to before the projectors' first commit, and
    // the next event (someone signs up) sets the projectors writing again.
    forget_every_view(&pool).await;
    app.register("grace").await;
    app.wait_until_caught_up().await;
    let digest = views_digest(&pool).await;
    let rows = |table: &str| digest.iter().find(|(t, _, _)| t == table).unwrap().1;
    assert_eq!(
        rows("resources"),
        5,
        "the lost resources are back: {digest:?}"
    );
    assert_eq!(rows("resource_authors"), 2, "{digest:?}");

    // Operators can tell: the database lost commits and they were made good.
    let lost = metric_sample(
        &app.metrics().await,
        "resourcify_projection_lost_commits_total{projection=\"resources\"}",
    );
    assert!(lost.is_some_and(|n| n >= 1.0), "{lost:?}");

    // Ada's session is back with the rest, and what follows lands as usual.
    submit_some(&app, &author.token, 5..8).await;
    let head = app.wait_until_caught_up().await;
    drop(running);
    let recovered = views_digest(&pool).await;

    // The same as projectors that start on the empty views project.
    forget_every_view(&pool).await;
    let _fresh = app.start_projectors(4).await;
    assert_eq!(app.wait_until_caught_up().await, head);
    assert_eq!(views_digest(&pool).await, recovered);
}

/// Every projection's rows and checkpoint gone, as in a database restored
/// from before the projectors' first commit.
async fn forget_every_view(pool: &sqlx::PgPool) {
    let mut tx = pool.begin().await.unwrap();
    for projection in Projection::ALL {
        let tables = projection.tables().join(", ");
        sqlx::query(sqlx::AssertSqlSafe(format!("TRUNCATE {tables}")))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM projection_checkpoints")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn an_undecodable_event_is_dead_lettered_and_the_projection_goes_on(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let author = app.register("ada").await;

    // Published straight onto the stream, bypassing the domain.
    let subject = format!("{}.events.resource.{}", app.namespace, uuid::Uuid::now_v7());
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("ce-type", "resourcify.resource.submitted.v1");
    let js = app.store.jetstream();
    let poison = js
        .publish_with_headers(subject.clone(), headers, "{\"not\": \"a resource\"}".into())
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence;

    let after = app
        .submit(&author.token, json!({"title": "After the poison"}))
        .await;
    let position = after.position();
    let read = app
        .get_at(
            &format!("/v1/resources/{}", after.body["id"].as_str().unwrap()),
            position,
        )
        .await;
    assert_eq!(read.status, 200, "{read:#?}");

    let letters: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT projection, position, subject FROM dead_letters ORDER BY projection",
    )
    .fetch_all(app.reads.pool())
    .await
    .unwrap();
    // Only the projections that read resource submissions are concerned.
    let expected: Vec<_> = ["history", "notifications", "resources", "sites"]
        .map(|projection| (projection.to_owned(), poison as i64, subject.clone()))
        .into();
    assert_eq!(letters, expected);
}

/// An app without projectors, a pool on its database, and a member who
/// has submitted five resources (titles 0 to 4).
async fn five_submissions_unprojected(db: PgConnectOptions) -> (TestApp, sqlx::PgPool, Registered) {
    let app = spawn_api_only(db.clone()).await;
    let pool = resourcify_readmodel::connect(db, &PoolSettings::default())
        .await
        .unwrap();
    let author = app.register("ada").await;
    submit_some(&app, &author.token, 0..5).await;
    (app, pool, author)
}

async fn submit_some(app: &TestApp, token: &str, titles: std::ops::Range<usize>) {
    for i in titles {
        let response = app
            .submit(
                token,
                json!({"title": format!("Resource {i}"), "tags": ["a", "b"]}),
            )
            .await;
        assert_eq!(response.status, 201, "{response:#?}");
    }
}
