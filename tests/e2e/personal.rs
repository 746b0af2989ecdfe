//! What a user sees of their own: the account, bookmarks (private), the
//! personal feed; and what everyone sees of a user and of comments.

use reqwest::Method;
use resourcify_testkit::spawn_app;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{body:#}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_account_shows_profile_roles_and_follows_to_its_owner_only(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    app.register("grace").await;
    app.patch("/v1/me", &json!({"display_name": "Ada"}), &ada.token)
        .await;
    app.put("/v1/me/followed-tags/rust", &ada.token).await;
    let follow = app.put("/v1/me/followed-users/grace", &ada.token).await;
    let at = follow.position();

    let me = app
        .request(
            Method::GET,
            &format!("/v1/me?min_position={at}"),
            None,
            Some(&ada.token),
            None,
        )
        .await;
    assert_eq!(me.status, 200, "{me:#?}");
    assert_eq!(me.header("cache-control"), Some("private, no-store"));
    assert_eq!(me.body["username"], "ada");
    assert_eq!(me.body["display_name"], "Ada");
    assert_eq!(me.body["roles"], json!([]));
    assert_eq!(me.body["followed_tags"], json!(["rust"]));
    assert_eq!(me.body["followed_users"][0]["username"], "grace");
    app.get("/v1/me").await.assert_problem(401);

    let public = app.get_at("/v1/users/ADA", at).await;
    assert_eq!(public.status, 200, "{public:#?}");
    assert_eq!(public.body["display_name"], "Ada");
    assert!(public.body.get("email").is_none(), "no private data");
    assert!(public.body.get("followed_tags").is_none());
    app.get("/v1/users/nobody").await.assert_problem(404);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn bookmarks_are_private_and_newest_first(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let mut resources = Vec::new();
    for _ in 0..3 {
        let submitted = app.submit(&ada.token, json!({})).await;
        resources.push(submitted.id());
    }
    for id in &resources {
        app.put(&format!("/v1/resources/{id}/bookmark"), &grace.token)
            .await;
    }
    let removed = app
        .delete(
            &format!("/v1/resources/{}/bookmark", resources[1]),
            &grace.token,
        )
        .await;
    let at = removed.position();

    let get = |token: &str, path: &str| {
        app.request(
            Method::GET,
            &format!(
                "{path}{}min_position={at}",
                if path.contains('?') { '&' } else { '?' }
            ),
            None,
            Some(token),
            None,
        )
    };
    let mine = get(&grace.token, "/v1/me/bookmarks").await;
    assert_eq!(mine.status, 200, "{mine:#?}");
    assert_eq!(
        ids(&mine.body),
        [resources[2].clone(), resources[0].clone()]
    );
    assert_eq!(mine.header("cache-control"), Some("private, no-store"));
    let first = get(&grace.token, "/v1/me/bookmarks?limit=1").await;
    assert!(
        first
            .header("link")
            .unwrap()
            .contains("/v1/me/bookmarks?limit=1&cursor=")
    );
    // Another user sees only their own (none).
    let theirs = get(&ada.token, "/v1/me/bookmarks").await;
    assert_eq!(ids(&theirs.body), Vec::<String>::new());
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_personal_feed_merges_followed_tags_and_users(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let reader = app.register("reader").await;
    app.put("/v1/me/followed-tags/rust", &reader.token).await;
    app.put("/v1/me/followed-users/grace", &reader.token).await;
    let app = &app;
    let submit = |token: String, tags: serde_json::Value| async move {
        let response = app.submit(&token, json!({"tags": tags})).await;
        response.id()
    };
    let rust_by_ada = submit(ada.token.clone(), json!(["rust"])).await;
    let go_by_ada = submit(ada.token.clone(), json!(["go"])).await;
    let go_by_grace = submit(grace.token.clone(), json!(["go"])).await;
    let rust_by_grace = submit(grace.token.clone(), json!(["rust", "go"])).await;
    let head = app.wait_until_caught_up().await;

    let feed = app
        .request(
            Method::GET,
            &format!("/v1/me/feed?min_position={head}"),
            None,
            Some(&reader.token),
            None,
        )
        .await;
    assert_eq!(feed.status, 200, "{feed:#?}");
    // Newest first, each once (grace's rust resource matches twice).
    assert_eq!(ids(&feed.body), [rust_by_grace, go_by_grace, rust_by_ada]);
    assert!(!ids(&feed.body).contains(&go_by_ada));
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn comments_read_in_thread_order_and_removals_are_public(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    let resource = app.submit(&ada.token, json!({})).await.id();
    let post = |body: serde_json::Value| {
        app.request(
            Method::POST,
            &format!("/v1/resources/{resource}/comments"),
            Some(&body),
            Some(&ada.token),
            None,
        )
    };
    let first = post(json!({"body": "First."})).await.id();
    let second = post(json!({"body": "Second."})).await.id();
    let reply = post(json!({"body": "Reply to first.", "parent_id": first}))
        .await
        .id();
    let nested = post(json!({"body": "Reply to the reply.", "parent_id": reply}))
        .await
        .id();
    let removed = app
        .request(
            Method::POST,
            &format!("/v1/comments/{second}/remove"),
            Some(&json!({"reason": "Off-topic."})),
            Some(&moderator.token),
            None,
        )
        .await;
    let at = removed.position();

    let path = format!("/v1/resources/{resource}/comments");
    let thread = app.get_at(&path, at).await;
    assert_eq!(thread.status, 200, "{thread:#?}");
    assert_eq!(
        ids(&thread.body),
        [first.clone(), reply, nested, second.clone()]
    );
    let depths: Vec<_> = thread.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["depth"].as_u64().unwrap())
        .collect();
    assert_eq!(depths, [0, 1, 2, 0]);
    let gone = &thread.body["items"][3];
    assert_eq!(
        (gone["deleted"].clone(), gone["body"].clone()),
        (json!(true), json!(""))
    );

    let page = app.get_at(&format!("{path}?limit=2"), at).await;
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app.get(&format!("{path}?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&rest.body).len(), 2);

    let log = app.get_at("/v1/moderation-log", at).await;
    assert_eq!(log.status, 200, "{log:#?}");
    assert_eq!(log.body["items"][0]["action"], "comment.removed");
    assert_eq!(log.body["items"][0]["subject_id"], second.as_str());
    assert_eq!(log.body["items"][0]["reason"], "Off-topic.");
    app.get(&format!("/v1/resources/{}/comments", uuid::Uuid::now_v7()))
        .await
        .assert_problem(404);
}
