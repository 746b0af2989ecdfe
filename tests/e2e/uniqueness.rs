//! Usernames and e-mail addresses are unique, also under concurrency and
//! before any projection has run.

use resourcify_testkit::{assert_exactly_one_created, spawn_api_only};
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
