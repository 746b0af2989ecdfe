//! Usernames and e-mail addresses are unique, also under concurrency and
//! before any projection has run.

use resourcify_eventstore::Reservation;
use resourcify_testkit::{PASSWORD, assert_exactly_one_created, spawn_api_only};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn sign_up(username: &str, email: &str) -> serde_json::Value {
    json!({"username": username, "email": email, "password": "correct horse battery"})
}

// No projector runs: the read model never sees the first registration, so
// only the key-value reservation can refuse the duplicates.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn duplicate_usernames_and_emails_are_409_without_any_projection(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_api_only(db).await;
    app.register("ada").await;

    let same_name = app
        .post("/v1/users", &sign_up("ADA", "other@example.org"), None)
        .await;
    same_name.assert_problem(409);
    assert!(
        same_name.body["detail"]
            .as_str()
            .unwrap()
            .contains("username")
    );

    let same_email = app
        .post("/v1/users", &sign_up("lovelace", " Ada@Example.org"), None)
        .await;
    same_email.assert_problem(409);
    assert!(
        same_email.body["detail"]
            .as_str()
            .unwrap()
            .contains("e-mail")
    );

    // The refused e-mail attempt released its username claim.
    let retry = app
        .post(
            "/v1/users",
            &sign_up("lovelace", "lovelace@example.org"),
            None,
        )
        .await;
    assert_eq!(retry.status, 201, "{retry:#?}");
    // ada's registration and login, lovelace's registration.
    assert_eq!(app.head().await, 3);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn concurrent_sign_ups_with_one_name_create_one_account(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_api_only(db).await;
    const RACERS: usize = 12;

    let same_username: Vec<_> = (0..RACERS)
        .map(|i| sign_up("racer", &format!("racer{i}@example.org")))
        .collect();
    assert_exactly_one_created(
        &futures::future::join_all(
            same_username
                .iter()
                .map(|body| app.post("/v1/users", body, None)),
        )
        .await,
    );

    let same_email: Vec<_> = (0..RACERS)
        .map(|i| sign_up(&format!("mail{i}"), "shared@example.org"))
        .collect();
    assert_exactly_one_created(
        &futures::future::join_all(
            same_email
                .iter()
                .map(|body| app.post("/v1/users", body, None)),
        )
        .await,
    );

    assert_eq!(app.head().await, 2, "exactly two accounts were recorded");
}

/// The reservation buckets lost (a restore of the stream without them):
/// the operator's `admin rebuild-reservations` claims every name a live
/// account or resource holds again, from the log, and frees those of
/// deleted members and retracted resources.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn lost_reservations_are_rebuilt_from_the_log(_: PgPoolOptions, db: PgConnectOptions) {
    let app = resourcify_testkit::spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let kept = app
        .submit(&ada.token, json!({"url": "https://example.org/kept"}))
        .await;
    assert_eq!(kept.status, 201);
    let retracted = app
        .submit(&ada.token, json!({"url": "https://example.org/retracted"}))
        .await;
    let retracted_id = retracted.id();
    app.delete(&format!("/v1/resources/{retracted_id}"), &ada.token)
        .await;
    app.delete("/v1/me", &grace.token).await;

    // Every reservation bucket emptied, markers and all.
    for kind in Reservation::ALL {
        let name = format!("KV_{}", app.namespace.bucket(kind.bucket()));
        let stream = app.store.jetstream().get_stream(&name).await.unwrap();
        stream.purge().await.unwrap();
    }
    app.operator(&["admin", "rebuild-reservations"])
        .await
        .unwrap();
    for (username, email, status) in [
        ("ada", "new@example.org", 409),
        ("someone", "ada@example.org", 409),
        ("grace", "grace@example.org", 201),
    ] {
        let body = json!({"username": username, "email": email, "password": PASSWORD});
        let answer = app.post("/v1/users", &body, None).await;
        assert_eq!(answer.status, status, "{username} {email}: {answer:#?}");
    }
    app.submit(&ada.token, json!({"url": "https://example.org/kept"}))
        .await
        .assert_problem(409);
    let resubmitted = app
        .submit(&ada.token, json!({"url": "https://example.org/retracted"}))
        .await;
    assert_eq!(resubmitted.status, 201, "{resubmitted:#?}");
}

/// Nodes that start together on a new namespace all open the log and the
/// buckets: the one whose creation loses the server's race finds what the
/// other made (several rounds, as the race is a matter of timing).
#[tokio::test]
async fn nodes_starting_together_on_a_new_namespace_all_open_the_buckets() {
    use resourcify_eventstore::{EventStore, EventStoreSettings, IdempotencyKeys, ReservationBook};

    for _ in 0..5 {
        let guard = resourcify_testkit::NamespaceGuard::new();
        let start = || async {
            let client = async_nats::connect(resourcify_testkit::nats_url())
                .await
                .unwrap();
            let settings = EventStoreSettings::new(guard.namespace().clone());
            let store = EventStore::open(client, settings).await?;
            let js = store.jetstream();
            IdempotencyKeys::open(js, guard.namespace(), 1).await?;
            ReservationBook::open(&store).await.map(|_| ())
        };
        let (first, second, third) = tokio::join!(start(), start(), start());
        for opened in [first, second, third] {
            opened.expect("every node opens the log and the buckets");
        }
    }
}
