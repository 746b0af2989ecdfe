//! Karma: the upvotes on a member's resources plus the upvotes less the
//! downvotes on their comments, kept as votes come and go, shown on the
//! public profile and in `/v1/me`; counted for a log written before karma
//! existed; and equal after a replay of every projection.

use reqwest::Method;
use resourcify_projector::{Projection, ReplayPace, ReplaySettings, replay};
use resourcify_testkit::{Registered, SyntheticHistory, TestApp, spawn_api_only, spawn_app};
use resourcify_testkit::{TestResponse, views_digest};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn position(response: &TestResponse) -> u64 {
    assert!(response.status.is_success(), "{response:#?}");
    response.position()
}

/// `member`'s karma on their public profile and in their `/v1/me`, read at
/// `at`; asserts the two agree.
async fn karma(app: &TestApp, member: &Registered, at: u64) -> i64 {
    let profile = app
        .get_at(&format!("/v1/users/{}", member.username), at)
        .await;
    assert_eq!(profile.status, 200, "{profile:#?}");
    let me = app
        .send(
            app.http
                .get(app.url("/v1/me"))
                .bearer_auth(&member.token)
                .header("X-Resourcify-Min-Position", at),
        )
        .await;
    assert_eq!(me.status, 200, "{me:#?}");
    assert_eq!(profile.body["karma"], me.body["karma"]);
    profile.body["karma"].as_i64().unwrap()
}

async fn comment_on(app: &TestApp, author: &Registered, resource: &str) -> String {
    let posted = app
        .request(
            Method::POST,
            &format!("/v1/resources/{resource}/comments"),
            Some(&json!({"body": "Thanks for this."})),
            Some(&author.token),
            None,
        )
        .await;
    position(&posted);
    posted.id()
}

async fn vote_comment(app: &TestApp, voter: &Registered, comment: &str, direction: &str) -> u64 {
    let path = format!("/v1/comments/{comment}/vote");
    position(
        &app.put_json(&path, &json!({"direction": direction}), &voter.token)
            .await,
    )
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn karma_sums_resource_and_comment_votes_and_drops_on_withdrawal(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    assert_eq!(karma(&app, &ada, ada.position).await, 0);

    let submitted = app.submit(&ada.token, json!({})).await;
    let resource = submitted.id();
    let upvote = format!("/v1/resources/{resource}/vote");
    let at = position(&app.put(&upvote, &bob.token).await);
    assert_eq!(karma(&app, &ada, at).await, 1);

    let adas = comment_on(&app, &ada, &resource).await;
    let at = vote_comment(&app, &bob, &adas, "up").await;
    assert_eq!(
        karma(&app, &ada, at).await,
        2,
        "1 on the resource, 1 on the comment"
    );
    let at = vote_comment(&app, &carol, &adas, "down").await;
    assert_eq!(karma(&app, &ada, at).await, 1, "a downvote takes one");
    let at = vote_comment(&app, &carol, &adas, "up").await;
    assert_eq!(karma(&app, &ada, at).await, 3, "turned, it gives one");
    let at = position(&app.delete(&upvote, &bob.token).await);
    assert_eq!(
        karma(&app, &ada, at).await,
        2,
        "a withdrawn vote no longer counts"
    );
    let withdraw = format!("/v1/comments/{adas}/vote");
    let at = position(&app.delete(&withdraw, &carol.token).await);
    assert_eq!(karma(&app, &ada, at).await, 1);
    // The voters earned nothing by voting.
    assert_eq!(karma(&app, &bob, at).await, 0);

    // What others gave stays when the content goes.
    let at = position(
        &app.delete(&format!("/v1/comments/{adas}"), &ada.token)
            .await,
    );
    assert_eq!(karma(&app, &ada, at).await, 1);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn karma_counts_votes_written_before_the_node_started(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // No projector yet: the log fills first, as one written before karma
    // existed would be.
    let app = spawn_api_only(db).await;
    // Resource i is user(i % 3)'s; vote i is on resource i % 6: user0's
    // resources get votes 0, 3, 6 and 9; user1's and user2's three each.
    SyntheticHistory::new(3, 6, 10, "karma-history")
        .append(&app.store)
        .await
        .unwrap();
    let _projectors = app.start_projectors(100).await;
    let head = app.wait_until_caught_up().await;
    for (username, expected) in [("user0", 4), ("user1", 3), ("user2", 3)] {
        let profile = app.get_at(&format!("/v1/users/{username}"), head).await;
        assert_eq!(profile.status, 200, "{profile:#?}");
        assert_eq!(profile.body["karma"], expected, "{username}");
    }
}

/// Each member's karma from resource votes, as `resource_karma` holds it.
async fn resource_karma(pool: &sqlx::PgPool) -> Vec<(uuid::Uuid, i32)> {
    sqlx::query_as("SELECT user_id, votes FROM resource_karma ORDER BY user_id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_migration_counts_the_votes_projected_before_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db.clone()).await;
    SyntheticHistory::new(3, 6, 10, "karma-migration")
        .append(&app.store)
        .await
        .unwrap();
    app.wait_until_caught_up().await;
    let pool = sqlx::PgPool::connect_with(db).await.unwrap();
    let kept = resource_karma(&pool).await;
    assert_eq!(kept.iter().map(|(_, votes)| votes).sum::<i32>(), 10);
    app.shut_down().await;

    // The views as a node from before the migration left them: votes
    // projected, no karma anywhere.
    for undo in [
        "DROP TABLE resource_karma, comment_karma, comment_votes",
        "ALTER TABLE comments DROP COLUMN upvotes, DROP COLUMN downvotes",
        "DROP FUNCTION comment_top_segment",
        "DROP FUNCTION comment_new_segment",
        "DROP FUNCTION comment_wilson",
        "DELETE FROM _sqlx_migrations WHERE version = 20261207120000",
    ] {
        sqlx::raw_sql(undo).execute(&pool).await.unwrap();
    }
    resourcify_readmodel::MIGRATOR.run(&pool).await.unwrap();
    assert_eq!(resource_karma(&pool).await, kept);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn karma_and_comment_votes_replay_to_the_same_tables(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db.clone()).await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let mut comments = Vec::new();
    for i in 0..4 {
        let author = if i % 2 == 0 { &ada } else { &bob };
        let submitted = app.submit(&author.token, json!({})).await;
        let resource = submitted.id();
        let voter = if i % 2 == 0 { &bob } else { &ada };
        app.put(&format!("/v1/resources/{resource}/vote"), &voter.token)
            .await;
        app.put(&format!("/v1/resources/{resource}/vote"), &carol.token)
            .await;
        comments.push((comment_on(&app, author, &resource).await, author, resource));
    }
    for (i, (comment, author, _)) in comments.iter().enumerate() {
        let other = if author.username == "ada" { &bob } else { &ada };
        vote_comment(&app, other, comment, "up").await;
        vote_comment(&app, &carol, comment, if i < 2 { "down" } else { "up" }).await;
    }
    // Withdrawn and turned votes, votes on a comment since deleted and on
    // a resource since retracted.
    vote_comment(&app, &carol, &comments[0].0, "up").await;
    app.delete(
        &format!("/v1/comments/{}/vote", comments[1].0),
        &carol.token,
    )
    .await;
    app.delete(&format!("/v1/resources/{}", comments[2].2), &ada.token)
        .await;
    app.delete(&format!("/v1/comments/{}", comments[3].0), &bob.token)
        .await;
    let head = app.wait_until_caught_up().await;
    let before = views_digest(app.reads.pool()).await;
    assert!(karma(&app, &ada, head).await > 0);

    let settings = ReplaySettings {
        batch_size: 5,
        restart: false,
        pace: ReplayPace::Gentle,
    };
    for projection in Projection::ALL {
        replay(&app.store, &db, projection, &settings, |_| {})
            .await
            .unwrap();
    }
    assert_eq!(views_digest(app.reads.pool()).await, before);
}
