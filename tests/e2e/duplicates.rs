//! One URL, one resource: a second submission of the same canonical URL is
//! refused with a link to the first, even before any projection ran.

use resourcify_testkit::{assert_exactly_one_created, spawn_api_only};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_url_submitted_again_in_any_form_is_409_with_a_link_to_the_first(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_api_only(db).await;
    let (ada, grace) = (app.register("ada").await, app.register("grace").await);
    let first = app
        .submit(
            &ada.token,
            json!({"url": "https://example.org/guide/?id=7"}),
        )
        .await;
    assert_eq!(first.status, 201, "{first:#?}");
    let existing = format!("/v1/resources/{}", first.body["id"].as_str().unwrap());
    let head = app.head().await;

    for variant in [
        "https://example.org/guide/?id=7",
        "HTTPS://EXAMPLE.org:443/guide?id=7#intro",
        "https://example.org/guide?utm_source=feed&id=7&fbclid=x",
        // One page whatever its scheme or spelling (#21).
        "http://example.org/guide?id=7",
        "https://example.org./guide?id=7",
        "https://example.org/%67uide?id=7",
        "https://example.org//guide?id=7",
        "https://example.org/guide?UTM_Source=feed&id=7",
    ] {
        let again = app.submit(&grace.token, json!({"url": variant})).await;
        again.assert_problem(409);
        assert_eq!(again.body["existing"], existing.as_str(), "{variant}");
        assert!(
            again.body["type"]
                .as_str()
                .unwrap()
                .ends_with("/duplicate-resource")
        );
    }
    assert_eq!(app.head().await, head, "no duplicate was appended");

    // A different page of the same site is a different resource.
    let other = app
        .submit(
            &grace.token,
            json!({"url": "https://example.org/guide?id=8"}),
        )
        .await;
    assert_eq!(other.status, 201, "{other:#?}");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn concurrent_submissions_of_one_url_create_one_resource(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_api_only(db).await;
    let ada = app.register("ada").await;
    let before = app.head().await;
    let racers =
        (0..10).map(|_| app.submit(&ada.token, json!({"url": "https://example.org/race"})));
    assert_exactly_one_created(&futures::future::join_all(racers).await);
    assert_eq!(app.head().await, before + 1);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_url_with_credentials_in_it_is_refused(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_api_only(db).await;
    let ada = app.register("ada").await;
    let head = app.head().await;
    let refused = app
        .submit(
            &ada.token,
            json!({"url": "https://ada:s3cret@example.org/private"}),
        )
        .await;
    refused.assert_problem(422);
    assert!(!refused.body.to_string().contains("s3cret"), "{refused:#?}");
    assert_eq!(app.head().await, head, "nothing was appended");
}
