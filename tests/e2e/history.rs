//! A resource's history (`GET /v1/resources/{id}/history`): every edit with
//! who made it and each field's value before and after, in both orders
//! with keyset pages; the detail's visibility rules; an erased editor's
//! name gone from the view, live as after a replay.

use reqwest::Method;
use resourcify_projector::Projection;
use resourcify_testkit::{TestApp, spawn_app};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Submits a resource as `token` and edits it twice; answers its id and
/// the position of the last edit.
pub(crate) async fn edited_twice(app: &TestApp, token: &str) -> (String, u64) {
    let submitted = app
        .submit(
            token,
            json!({"title": "The first title", "description": "First.", "tags": ["rust"]}),
        )
        .await;
    assert_eq!(submitted.status, 201, "{submitted:#?}");
    let id = submitted.id();
    let path = format!("/v1/resources/{id}");
    let first = app
        .patch(&path, &json!({"title": "The second title"}), token)
        .await;
    assert_eq!(first.status, 200, "{first:#?}");
    let second = app
        .patch(
            &path,
            &json!({"description": "Second.", "tags": ["rust", "async"], "kind": "video"}),
            token,
        )
        .await;
    assert_eq!(second.status, 200, "{second:#?}");
    (id, second.position())
}

fn change(field: &str, before: Value, after: Value) -> Value {
    json!({"field": field, "before": before, "after": after})
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_history_lists_each_edit_with_what_it_changed_in_either_order(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let (id, at) = edited_twice(&app, &ada.token).await;

    let newest = app.get_at(&format!("/v1/resources/{id}/history"), at).await;
    assert_eq!(newest.status, 200, "{newest:#?}");
    let items = newest.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{newest:#?}");
    let again = app.get_at(&format!("/v1/resources/{id}/history"), at).await;
    assert_eq!(
        (again.body.clone(), again.header("x-cache")),
        (newest.body.clone(), Some("hit"))
    );
    assert_eq!(items[0]["position"], at);
    assert_eq!(items[0]["editor"]["username"], "ada");
    assert_eq!(items[0]["editor"]["user_id"], ada.user_id.to_string());
    assert_eq!(
        items[0]["changes"],
        json!([
            change("description", json!("First."), json!("Second.")),
            change("tags", json!(["rust"]), json!(["rust", "async"])),
            change("kind", json!("article"), json!("video")),
        ])
    );
    assert_eq!(
        items[1]["changes"],
        json!([change(
            "title",
            json!("The first title"),
            json!("The second title")
        )])
    );

    // Oldest first, one a page: the cursor and the Link lead to the next.
    let first = app
        .get(&format!("/v1/resources/{id}/history?order=oldest&limit=1"))
        .await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(first.body["items"][0], items[1]);
    let link = first.header("link").expect("a Link to the next page");
    assert!(link.contains("order=oldest"), "{link}");
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!(
            "/v1/resources/{id}/history?order=oldest&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(second.body["items"], json!([items[0].clone()]));
    assert!(second.body.get("next_cursor").is_none(), "{second:#?}");
    // A cursor of the other order is refused.
    app.get(&format!("/v1/resources/{id}/history?cursor={cursor}"))
        .await
        .assert_problem(422);
    app.get(&format!("/v1/resources/{id}/history?order=sideways"))
        .await
        .assert_problem(400);

    // A resource never edited has an empty history; an unknown one none.
    let plain = app.submit(&ada.token, json!({})).await;
    let plain_at = plain.position();
    let empty = app
        .get_at(
            &format!(
                "/v1/resources/{}/history",
                plain.body["id"].as_str().unwrap()
            ),
            plain_at,
        )
        .await;
    assert_eq!(empty.body, json!({"items": []}));
    app.get(&format!("/v1/resources/{}/history", uuid::Uuid::now_v7()))
        .await
        .assert_problem(404);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_hidden_or_retracted_resource_has_no_history_to_show(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    let (hidden_id, _) = edited_twice(&app, &ada.token).await;
    let hidden = app
        .request(
            Method::POST,
            &format!("/v1/resources/{hidden_id}/hide"),
            Some(&json!({"reason": "Spam: the link leads to a shop."})),
            Some(&moderator.token),
            None,
        )
        .await;
    assert_eq!(hidden.status, 200, "{hidden:#?}");
    let at = hidden.position();
    let detail = app.get_at(&format!("/v1/resources/{hidden_id}"), at).await;
    detail.assert_problem(404);
    let history = app
        .get_at(&format!("/v1/resources/{hidden_id}/history"), at)
        .await;
    history.assert_problem(404);
    assert_eq!(history.body["title"], detail.body["title"]);

    let (retracted_id, _) = edited_twice(&app, &ada.token).await;
    let retracted = app
        .delete(&format!("/v1/resources/{retracted_id}"), &ada.token)
        .await;
    let at = retracted.position();
    app.get_at(&format!("/v1/resources/{retracted_id}/history"), at)
        .await
        .assert_problem(404);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn an_erased_editor_leaves_no_name_in_the_history_live_or_replayed(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db.clone()).await;
    let ada = app.register("countess_ada").await;
    let (id, at) = edited_twice(&app, &ada.token).await;
    let named = app.get_at(&format!("/v1/resources/{id}/history"), at).await;
    assert_eq!(named.body["items"][0]["editor"]["username"], "countess_ada");

    let deleted = app.delete("/v1/me", &ada.token).await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    let head = app.wait_until_caught_up().await;
    let history = app
        .get_at(&format!("/v1/resources/{id}/history"), head)
        .await;
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the edits stay: {history:#?}");
    for item in items {
        assert_eq!(item["editor"], json!({"user_id": ada.user_id.to_string()}));
    }
    let names: i64 =
        sqlx::query_scalar("SELECT count(*) FROM revision_editors WHERE username LIKE '%ada%'")
            .fetch_one(app.reads.pool())
            .await
            .unwrap();
    assert_eq!(names, 0);

    // A replay reads the member's sealed name as erased, then the
    // deletion: the same tables.
    resourcify_testkit::assert_replay_changes_nothing(
        &app.store,
        &db,
        &[Projection::History, Projection::Sites],
    )
    .await;
}

/// Reads `path` without a position until `done` holds of its body;
/// fails if that takes longer than 10 s, well under the caches' TTL (60 s):
/// only a projector's notice can have dropped the cached view by then.
pub(crate) async fn until_served(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) {
    until_served_to(app, path, None, done).await;
}

/// [`until_served`] as the holder of `token` reads it.
pub(crate) async fn until_served_to(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    done: impl Fn(&Value) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let read = app.request(Method::GET, path, None, token, None);
        if done(&read.await.body) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} kept its stale view"
        );
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_cached_history_is_dropped_by_the_next_edit(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let (id, at) = edited_twice(&app, &ada.token).await;
    let path = format!("/v1/resources/{id}/history");
    app.get_at(&path, at).await;
    let cached = app.get(&path).await;
    assert_eq!(cached.header("x-cache"), Some("hit"));

    let edited = app
        .patch(
            &format!("/v1/resources/{id}"),
            &json!({"title": "The third title"}),
            &ada.token,
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:#?}");
    until_served(&app, &path, |body| {
        body["items"].as_array().unwrap().len() == 3
    })
    .await;
}
