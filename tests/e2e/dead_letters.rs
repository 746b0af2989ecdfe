//! Operators see, retry and skip what a projection could not apply, and
//! `status` reports lag and dead letters per projection.

use resourcify_app::projection_statuses;
use resourcify_projector::{Projection, RetryOutcome, retry_dead_letter, skip_dead_letter};
use resourcify_readmodel::{DeadLetter, record_dead_letter};
use resourcify_testkit::{TestApp, spawn_app};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Publishes a payload straight onto a resource subject, bypassing the domain.
async fn publish_raw(app: &TestApp, payload: &'static str) -> u64 {
    publish_raw_as(app, "resource", "resource.submitted.v1", payload).await
}

/// Publishes `payload` as an event of type `resourcify.<event_type>` onto
/// a new subject of `aggregate`, bypassing the domain.
pub(crate) async fn publish_raw_as(
    app: &TestApp,
    aggregate: &str,
    event_type: &str,
    payload: &'static str,
) -> u64 {
    let subject = format!(
        "{}.events.{aggregate}.{}",
        app.namespace,
        uuid::Uuid::now_v7()
    );
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("ce-type", format!("resourcify.{event_type}").as_str());
    app.store
        .jetstream()
        .publish_with_headers(subject, headers, payload.into())
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn dead_letters_are_listed_retried_and_skipped(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let author = app.register("ada").await;
    // An event no version of the projection can read.
    let broken = publish_raw(&app, "{\"not\": \"a resource\"}").await;
    app.submit(&author.token, json!({})).await;
    let head = app.wait_until_caught_up_allowing_dead_letters().await;

    let letters = app.reads.dead_letters_after("", -1, 100).await.unwrap();
    // Each projection that reads submissions parks it; resources' is used here.
    let parked: Vec<&str> = letters.iter().map(|l| l.projection.as_str()).collect();
    assert_eq!(
        parked,
        ["history", "notifications", "resources", "sites"],
        "{letters:?}"
    );
    let letters: Vec<_> = letters
        .into_iter()
        .filter(|l| l.projection == "resources")
        .collect();
    assert_eq!(letters[0].projection, "resources");
    assert_eq!(letters[0].position, broken as i64);
    assert!(letters[0].error.contains("payload"), "{}", letters[0].error);

    let statuses = projection_statuses(&app.store, &app.reads).await.unwrap();
    let resources = statuses
        .iter()
        .find(|s| s.projection == "resources")
        .unwrap();
    assert_eq!((resources.checkpoint, resources.head), (head, head));
    assert_eq!((resources.lag_events, resources.dead_letters), (0, 1));
    let users = statuses.iter().find(|s| s.projection == "users").unwrap();
    assert_eq!(users.dead_letters, 0);

    // Retrying what is still broken keeps it, with the error of this attempt.
    let pool = app.reads.pool();
    let again = retry_dead_letter(pool, &app.store, Projection::Resources, broken)
        .await
        .unwrap();
    assert!(
        matches!(again, RetryOutcome::StillFailing(ref e) if e.contains("payload")),
        "{again:?}"
    );
    assert_eq!(dead_letters(&app).await, 1);
    assert_eq!(
        retry_dead_letter(pool, &app.store, Projection::Resources, broken + 1000)
            .await
            .unwrap(),
        RetryOutcome::NotFound
    );

    assert!(
        skip_dead_letter(pool, Projection::Resources, broken)
            .await
            .unwrap()
    );
    assert!(
        !skip_dead_letter(pool, Projection::Resources, broken)
            .await
            .unwrap()
    );
    assert_eq!(dead_letters(&app).await, 0);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_dead_letter_that_applies_now_is_removed(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let author = app.register("ada").await;
    let first = app
        .submit(&author.token, json!({"title": "The original"}))
        .await;
    app.wait_until_caught_up_allowing_dead_letters().await;

    // A valid event parked by hand, as if an earlier, buggy version of the
    // projection had refused it; after the fix, a retry applies it.
    let id = first.body["id"].as_str().unwrap();
    let payload = json!({
        "resource_id": uuid::Uuid::now_v7(), "author_id": author.user_id, "title": "Parked",
        "url": "https://example.org/parked", "description": "", "tags": ["parked"],
        "kind": "tool", "submitted_at": "2026-11-27T00:00:00Z",
    });
    let position = app.head().await + 1000;
    let subject = format!("{}.events.resource.{id}", app.namespace);
    let bytes = serde_json::to_vec(&payload).unwrap();
    let mut tx = app.reads.pool().begin().await.unwrap();
    let letter = DeadLetter {
        projection: "resources",
        position,
        subject: &subject,
        event_type: Some("resourcify.resource.submitted.v1"),
        payload: &bytes,
        error: "refused by an old bug".into(),
    };
    record_dead_letter(&mut tx, &letter).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(dead_letters(&app).await, 1);

    let outcome = retry_dead_letter(
        app.reads.pool(),
        &app.store,
        Projection::Resources,
        position,
    )
    .await
    .unwrap();
    assert_eq!(outcome, RetryOutcome::Applied);
    assert_eq!(dead_letters(&app).await, 0);
    let listed = app.get("/v1/resources?tag=parked").await;
    assert_eq!(listed.body["items"][0]["title"], "Parked", "{listed:#?}");
}

/// The resources projection's dead-letter count, as `status` reports it.
async fn dead_letters(app: &TestApp) -> u64 {
    projection_statuses(&app.store, &app.reads)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.projection == "resources")
        .unwrap()
        .dead_letters
}
