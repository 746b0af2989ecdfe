//! No lost update: concurrent commands on one resource either land or are
//! told so, and the views count exactly what landed.

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::Method;
use resourcify_testkit::spawn_app;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn fifty_concurrent_upvotes_by_fifty_members_count_fifty(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let author = app.register("author").await;
    let submitted = app.submit(&author.token, json!({})).await;
    let id = submitted.id();
    let voters = join_all((0..50).map(|i| app.register_as(format!("voter{i}")))).await;

    let path = format!("/v1/resources/{id}/vote");
    let votes = join_all(voters.iter().map(|v| app.put(&path, &v.token))).await;
    let statuses: Vec<u16> = votes.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let head = app.wait_until_caught_up().await;
    let resource = app.get_at(&format!("/v1/resources/{id}"), head).await;
    assert_eq!(resource.body["votes"], 50, "{resource:#?}");
    assert_eq!(resource.body["version"], 1, "votes are not edits");

    // Voting again changes nothing; withdrawing takes exactly one away.
    let again = app.put(&path, &voters[0].token).await;
    assert_eq!(again.status, 200);
    assert_eq!(app.head().await, head, "a second vote appends nothing");
    app.delete(&path, &voters[0].token).await;
    let head = app.wait_until_caught_up().await;
    let resource = app.get_at(&format!("/v1/resources/{id}"), head).await;
    assert_eq!(resource.body["votes"], 49);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn twenty_concurrent_edits_each_land_or_get_409_and_the_version_counts_them(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let author = app.register("author").await;
    let submitted = app.submit(&author.token, json!({})).await;
    let id = submitted.id();
    let path = format!("/v1/resources/{id}");

    let titles: Vec<String> = (0..20)
        .map(|i| format!("Edited title number {i}"))
        .collect();
    let edits = join_all(titles.iter().map(|title| {
        app.request(
            Method::PATCH,
            &path,
            Some(&json!({"title": title})),
            Some(&author.token),
            None,
        )
    }))
    .await;

    let mut landed = HashSet::new();
    for (title, response) in titles.iter().zip(&edits) {
        match response.status.as_u16() {
            200 => {
                landed.insert(title.clone());
            }
            409 => {
                response.assert_problem(409);
                assert!(
                    response.body["type"]
                        .as_str()
                        .unwrap()
                        .ends_with("/concurrent-modification")
                );
            }
            other => panic!("an edit answered {other}: {response:#?}"),
        }
    }
    assert!(!landed.is_empty());

    let head = app.wait_until_caught_up().await;
    let resource = app.get_at(&path, head).await;
    assert_eq!(
        resource.body["version"],
        1 + landed.len(),
        "{} edits landed: {resource:#?}",
        landed.len()
    );
    let title = resource.body["title"].as_str().unwrap();
    assert!(landed.contains(title), "{title} is not a landed edit");
}

/// One member's upvotes sent at once: the vote and the resource load
/// together, each request decides on what it loaded, the appends that lost
/// the race are refused and decided again (nothing to change), so exactly
/// one event lands.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn one_members_concurrent_upvotes_append_one_vote(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let author = app.register("author").await;
    let submitted = app.submit(&author.token, json!({})).await;
    let id = submitted.id();
    let voter = app.register("voter").await;
    let before = app.head().await;

    let path = format!("/v1/resources/{id}/vote");
    let votes = join_all((0..10).map(|_| app.put(&path, &voter.token))).await;
    let statuses: Vec<u16> = votes.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.head().await, before + 1, "one vote event");
    let positions: HashSet<_> = votes.iter().map(|r| r.body["position"].as_u64()).collect();
    assert_eq!(
        positions.len(),
        1,
        "every answer names the one event: {positions:?}"
    );

    let head = app.wait_until_caught_up().await;
    let resource = app.get_at(&format!("/v1/resources/{id}"), head).await;
    assert_eq!(resource.body["votes"], 1, "{resource:#?}");
}
