//! Moderation and comments: hidden resources leave every view and come
//! back; every action is in the public moderation log; comments thread
//! within one resource.

use reqwest::Method;
use resourcify_testkit::spawn_app;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_hidden_resource_leaves_every_view_and_the_reason_is_logged(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    let submitted = app
        .submit(&ada.token, json!({"tags": ["spam-check"]}))
        .await;
    let id = submitted.id();

    let hide = |action: &str, reason: &str| {
        app.request(
            Method::POST,
            &format!("/v1/resources/{id}/{action}"),
            Some(&json!({"reason": reason})),
            Some(&moderator.token),
            None,
        )
    };
    hide("hide", "ab").await.assert_problem(422);
    let hidden = hide("hide", "Spam: the link leads to a shop.").await;
    assert_eq!(hidden.status, 200, "{hidden:#?}");
    let at = hidden.position();
    app.get_at(&format!("/v1/resources/{id}"), at)
        .await
        .assert_problem(404);
    let listed = app.get_at("/v1/resources?tag=spam-check", at).await;
    assert_eq!(listed.body["items"], json!([]));
    let newest = app.get_at("/v1/resources", at).await;
    assert_eq!(newest.body["items"], json!([]));

    let restored = hide("restore", "Reviewed: a real article.").await;
    let at = restored.position();
    let back = app.get_at(&format!("/v1/resources/{id}"), at).await;
    assert_eq!(back.status, 200, "{back:#?}");
    let listed = app.get_at("/v1/resources?tag=spam-check", at).await;
    assert_eq!(listed.body["items"][0]["id"], id.as_str());

    app.wait_until_caught_up().await;
    let log: Vec<(String, String)> =
        sqlx::query_as("SELECT action, reason FROM moderation_log ORDER BY position")
            .fetch_all(app.reads.pool())
            .await
            .unwrap();
    assert_eq!(
        log,
        [
            (
                "resource.hidden".to_owned(),
                "Spam: the link leads to a shop.".to_owned()
            ),
            (
                "resource.restored".to_owned(),
                "Reviewed: a real article.".to_owned()
            ),
        ]
    );
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn replies_thread_within_one_resource(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let first = app.submit(&ada.token, json!({})).await.id();
    let second = app.submit(&ada.token, json!({})).await.id();
    let comment = |resource: &str, body: serde_json::Value| {
        app.request(
            Method::POST,
            &format!("/v1/resources/{resource}/comments"),
            Some(&body),
            Some(&grace.token),
            None,
        )
    };

    let top = comment(&first, json!({"body": "Great read."})).await;
    assert_eq!(top.status, 201, "{top:#?}");
    let top_id = top.body["id"].as_str().unwrap();
    assert_eq!(
        top.header("location"),
        Some(format!("/v1/comments/{top_id}").as_str())
    );
    let reply = comment(&first, json!({"body": "Agreed.", "parent_id": top_id})).await;
    assert_eq!(reply.status, 201, "{reply:#?}");
    // A reply belongs to its parent's resource.
    comment(&second, json!({"body": "Lost?", "parent_id": top_id}))
        .await
        .assert_problem(404);
    comment(&first, json!({"body": "   "}))
        .await
        .assert_problem(422);

    let deleted = app
        .delete(&format!("/v1/comments/{top_id}"), &grace.token)
        .await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    // Nothing hangs off a deleted comment any more.
    comment(&first, json!({"body": "Too late.", "parent_id": top_id}))
        .await
        .assert_problem(404);
}

/// A new comment's `Location` is where it is read: as its thread shows it,
/// edits and deletion included, and not found once its resource is hidden.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_comment_is_read_where_its_location_says(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    let resource = app.submit(&ada.token, json!({})).await.id();
    let posted = app
        .post(
            &format!("/v1/resources/{resource}/comments"),
            &json!({"body": "Chapter 16 is the best."}),
            Some(&grace.token),
        )
        .await;
    assert_eq!(posted.status, 201, "{posted:#?}");
    let id = posted.id();
    let location = posted.header("location").unwrap().to_owned();
    assert_eq!(location, format!("/v1/comments/{id}"));

    let read = app.get_at(&location, posted.position()).await;
    assert_eq!(read.status, 200, "{read:#?}");
    assert_eq!(read.body["id"], id.as_str());
    assert_eq!(read.body["resource_id"], resource.as_str());
    assert_eq!(read.body["body"], "Chapter 16 is the best.");
    assert_eq!(read.body["author"]["username"], "grace");
    assert_eq!(read.body["deleted"], false);
    assert!(read.header("etag").is_some(), "{read:#?}");
    // The thread shows it the same way.
    let thread = app
        .get_at(
            &format!("/v1/resources/{resource}/comments"),
            posted.position(),
        )
        .await;
    assert_eq!(thread.body["items"][0], read.body);

    let edited = app
        .patch(
            &location,
            &json!({"body": "Chapter 17, rather."}),
            &grace.token,
        )
        .await;
    let at = edited.position();
    assert_eq!(
        app.get_at(&location, at).await.body["body"],
        "Chapter 17, rather."
    );

    let deleted = app.delete(&location, &grace.token).await;
    let at = deleted.position();
    let gone = app.get_at(&location, at).await;
    assert_eq!(gone.status, 200, "{gone:#?}");
    assert_eq!(gone.body["deleted"], true);
    assert_eq!(gone.body["body"], "");

    let hidden = app
        .post(
            &format!("/v1/resources/{resource}/hide"),
            &json!({"reason": "Spam: the link leads to a shop."}),
            Some(&moderator.token),
        )
        .await;
    let at = hidden.position();
    app.get_at(&location, at).await.assert_problem(404);
    app.get(&format!("/v1/comments/{}", uuid::Uuid::now_v7()))
        .await
        .assert_problem(404);
}
