//! Hidden tags (`PUT`/`DELETE /v1/me/hidden-tags/{tag}`): a member's front
//! page, lists, news and personal feed under `/v1/me/` leave out resources
//! carrying a hidden tag, pages stay full within the bound of rows a page
//! reads, the public lists stay as they were, and a replay builds the same
//! view.

use resourcify_app::HIDDEN_TAGS_MAX_ROUNDS;
use resourcify_projector::Projection;
use resourcify_testkit::{Registered, TestApp, spawn_app};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Submits a resource with `tags`; answers its id.
async fn submit_tagged(app: &TestApp, who: &Registered, tags: &[&str]) -> String {
    let submitted = app.submit(&who.token, json!({"tags": tags})).await;
    assert_eq!(submitted.status, 201, "{submitted:#?}");
    submitted.id()
}

/// Hides (or shows again) `tag` for `who`; answers the position.
async fn hide(app: &TestApp, who: &Registered, tag: &str, hidden: bool) -> u64 {
    let path = format!("/v1/me/hidden-tags/{tag}");
    let answer = if hidden {
        app.put(&path, &who.token).await
    } else {
        app.delete(&path, &who.token).await
    };
    assert_eq!(answer.status, 200, "{answer:#?}");
    answer.position()
}

/// Every item of the list at `path` (with a `?`), walking its pages of
/// `limit` as `who`; asserts that every page but the last is full.
async fn walk(app: &TestApp, who: &Registered, path: &str, limit: usize, at: u64) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get_as_at(&format!("{path}limit={limit}{cursor}"), &who.token, at)
            .await;
        assert_eq!(page.status, 200, "{page:#?}");
        let found = page.body["items"].as_array().unwrap();
        items.extend(found.iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(found.len(), limit, "a page with more after it is full");
                cursor = format!("&cursor={next}");
            }
            None => return items,
        }
    }
}

fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["id"].as_str().unwrap()).collect()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_members_lists_leave_out_hidden_tags_and_their_pages_stay_full(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db.clone()).await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let mut kept = Vec::new();
    for n in 0..9 {
        let tags: &[&str] = match n % 3 {
            0 => &["rust"],
            1 => &["crypto"],
            _ => &["rust", "crypto"],
        };
        let id = submit_tagged(&app, &ada, tags).await;
        if n % 3 == 0 {
            kept.push(id);
        }
    }
    kept.reverse();
    let followed = app.put("/v1/me/followed-tags/rust", &bob.token).await;
    assert_eq!(followed.status, 200, "{followed:#?}");
    let at = hide(&app, &bob, "crypto", true).await;
    hide(&app, &bob, "crypto", true).await;

    let me = app.get_as_at("/v1/me", &bob.token, at).await;
    assert_eq!(me.body["hidden_tags"], json!(["crypto"]), "{me:#?}");
    let export = app.get_as_at("/v1/me/export", &bob.token, at).await;
    assert_eq!(export.body["hidden_tags"], json!(["crypto"]), "{export:#?}");
    for path in [
        "/v1/me/resources?",
        "/v1/me/resources?tag=rust&",
        "/v1/me/front-page?",
        "/v1/me/feed?",
    ] {
        let items = walk(&app, &bob, path, 2, at).await;
        let mut listed = ids(&items);
        if path.starts_with("/v1/me/front-page") {
            // Hot first: the same resources, in another order.
            listed.sort_unstable();
            let mut expected: Vec<&str> = kept.iter().map(String::as_str).collect();
            expected.sort_unstable();
            assert_eq!(listed, expected, "{path}");
        } else {
            assert_eq!(listed, kept, "{path}");
        }
    }
    let private = app.get_as_at("/v1/me/front-page", &bob.token, at).await;
    assert_eq!(private.header("cache-control"), Some("private, no-cache"));
    let news = app.get_as_at("/v1/me/news", &bob.token, at).await;
    assert_eq!(news.status, 200, "{news:#?}");

    // Everyone else's lists are as they were, and ada's too.
    let public = app.get_at("/v1/resources?limit=100", at).await;
    assert_eq!(public.body["items"].as_array().unwrap().len(), 9);
    let adas = walk(&app, &ada, "/v1/me/resources?", 4, at).await;
    assert_eq!(adas.len(), 9);

    let at = hide(&app, &bob, "crypto", false).await;
    let all = walk(&app, &bob, "/v1/me/resources?", 4, at).await;
    assert_eq!(all.len(), 9, "a tag shown again is back");

    resourcify_testkit::assert_replay_changes_nothing(&app.store, &db, &[Projection::Users]).await;
}

/// A page reads at most `MAX_ROUNDS × (limit + 1)` rows: past that it is
/// short, and its cursor goes on after the rows it read, so the next pages
/// still reach every visible resource once.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_page_reads_a_bounded_number_of_rows_and_goes_on_after_them(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let visible = submit_tagged(&app, &ada, &["rust"]).await;
    let limit = 1;
    let read_per_page = HIDDEN_TAGS_MAX_ROUNDS * (limit + 1);
    for _ in 0..read_per_page + 2 {
        submit_tagged(&app, &ada, &["crypto"]).await;
    }
    let at = hide(&app, &bob, "crypto", true).await;

    let first = app
        .get_as_at("/v1/me/resources?limit=1", &bob.token, at)
        .await;
    assert_eq!(first.status, 200, "{first:#?}");
    assert_eq!(first.body["items"], json!([]), "{first:#?}");
    let next = first.body["next_cursor"].as_str().expect("it goes on");
    let rest = app
        .get_as_at(
            &format!("/v1/me/resources?limit=1&cursor={next}"),
            &bob.token,
            at,
        )
        .await;
    assert_eq!(ids(rest.body["items"].as_array().unwrap()), [visible]);
    assert!(rest.body["next_cursor"].is_null(), "{rest:#?}");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn hiding_needs_a_session_and_a_valid_tag_and_leaves_with_the_account(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let bob = app.register("bob").await;
    app.get("/v1/me/front-page").await.assert_problem(401);
    app.put("/v1/me/hidden-tags/Not%20a%20tag", &bob.token)
        .await
        .assert_problem(422);
    hide(&app, &bob, "crypto", true).await;

    let deleted = app.delete("/v1/me", &bob.token).await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    app.wait_until_caught_up().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM hidden_tags")
        .fetch_one(app.reads.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
}
