//! Sites (`GET /v1/domains/{domain}`): a site's visible resources newest
//! first with their count; the site's and a member's Atom feeds; views
//! built from a log written before they existed.

use std::time::Duration;

use reqwest::Method;
use resourcify::Roles;
use resourcify_app::ViewPositions;
use resourcify_projector::Projection;
use resourcify_testkit::{Registered, RunningProjectors, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Submits a resource at `url` titled `title`; answers its id and position.
async fn submit_at(app: &TestApp, who: &Registered, url: &str, title: &str) -> (String, u64) {
    let submitted = app
        .submit(&who.token, json!({"url": url, "title": title}))
        .await;
    assert_eq!(submitted.status, 201, "{submitted:#?}");
    (submitted.id(), submitted.position())
}

async fn hide(app: &TestApp, moderator: &Registered, id: &str) -> u64 {
    let hidden = app
        .request(
            Method::POST,
            &format!("/v1/resources/{id}/hide"),
            Some(&json!({"reason": "Spam: the link leads to a shop."})),
            Some(&moderator.token),
            None,
        )
        .await;
    assert_eq!(hidden.status, 200, "{hidden:#?}");
    hidden.position()
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect()
}

/// The entries' titles of an Atom document, checked to be one.
fn atom_titles(body: &Value) -> Vec<String> {
    let parsed = feed_rs::parser::parse(body.as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
    parsed
        .entries
        .iter()
        .map(|e| e.title.clone().unwrap().content)
        .collect()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_site_shows_its_visible_resources_newest_first_with_their_count(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    let (first, _) = submit_at(&app, &ada, "https://www.rust-lang.org/learn", "Learn").await;
    let (spam, _) = submit_at(&app, &ada, "https://rust-lang.org/shop", "Shop").await;
    submit_at(&app, &ada, "https://blog.rust-lang.org/x", "Another site").await;
    let (last, _) = submit_at(&app, &ada, "https://RUST-LANG.org:443/tools", "Tools").await;
    let at = hide(&app, &moderator, &spam).await;

    let site = app.get_at("/v1/domains/rust-lang.org", at).await;
    assert_eq!(site.status, 200, "{site:#?}");
    assert_eq!(site.body["domain"], "rust-lang.org");
    assert_eq!(site.body["resources"], 2, "the hidden one is not counted");
    assert_eq!(ids(&site.body), [last.as_str(), first.as_str()]);
    assert_eq!(site.body["items"][0]["title"], "Tools");
    assert_eq!(site.body["items"][0]["author"]["username"], "ada");
    // `www.` and case name the same site: the same page, from memory.
    let www = app.get_at("/v1/domains/WWW.Rust-Lang.org", at).await;
    assert_eq!(www.body, site.body);
    assert_eq!(www.header("x-cache"), Some("hit"));

    // Keyset pages, linked.
    let page = app.get("/v1/domains/rust-lang.org?limit=1").await;
    assert_eq!(ids(&page.body), [last.as_str()]);
    assert!(page.header("link").is_some());
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = app
        .get(&format!(
            "/v1/domains/rust-lang.org?limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(ids(&next.body), [first.as_str()]);
    assert!(next.body.get("next_cursor").is_none());

    // A retraction leaves the page and the count.
    let retracted = app
        .delete(&format!("/v1/resources/{first}"), &ada.token)
        .await;
    let at = retracted.position();
    let site = app.get_at("/v1/domains/rust-lang.org", at).await;
    assert_eq!(site.body["resources"], 1);
    assert_eq!(ids(&site.body), [last.as_str()]);

    // A restored one comes back, counted again.
    let restored = app
        .request(
            Method::POST,
            &format!("/v1/resources/{spam}/restore"),
            Some(&json!({"reason": "Reviewed: a real shop review."})),
            Some(&moderator.token),
            None,
        )
        .await;
    assert_eq!(restored.status, 200, "{restored:#?}");
    let at = restored.position();
    let site = app.get_at("/v1/domains/rust-lang.org", at).await;
    assert_eq!(site.body["resources"], 2);
    assert_eq!(ids(&site.body), [last.as_str(), spam.as_str()]);

    app.get("/v1/domains/nothing-here.example")
        .await
        .assert_problem(404);
    app.get("/v1/domains/a%20b").await.assert_problem(422);
    app.get("/v1/domains/example.org:8080")
        .await
        .assert_problem(422);
    app.get("/v1/domains/rust-lang.org?limit=1000")
        .await
        .assert_problem(400);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn site_and_member_feeds_are_atom_with_only_visible_entries(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    submit_at(&app, &ada, "https://example.net/a", "Ada on example.net").await;
    let (spam, _) = submit_at(&app, &ada, "https://example.net/spam", "Ada's spam").await;
    submit_at(&app, &ada, "https://elsewhere.example/b", "Ada elsewhere").await;
    submit_at(
        &app,
        &grace,
        "https://www.example.net/c",
        "Grace on example.net",
    )
    .await;
    let at = hide(&app, &moderator, &spam).await;

    let site = app.get_at("/v1/domains/example.net/feed.atom", at).await;
    assert_eq!(site.status, 200, "{site:#?}");
    assert!(
        site.header("content-type")
            .unwrap()
            .starts_with("application/atom+xml")
    );
    assert_eq!(
        atom_titles(&site.body),
        ["Grace on example.net", "Ada on example.net"]
    );
    assert!(site.body.as_str().unwrap().contains("example.net"));

    let member = app.get_at("/v1/users/ada/feed.atom", at).await;
    assert_eq!(member.status, 200, "{member:#?}");
    assert_eq!(
        atom_titles(&member.body),
        ["Ada elsewhere", "Ada on example.net"]
    );
    let etag = member.header("etag").unwrap().to_owned();
    let unchanged = app
        .send(
            app.http
                .get(app.url("/v1/users/ada/feed.atom"))
                .header("If-None-Match", etag),
        )
        .await;
    assert_eq!(unchanged.status, 304);

    app.get("/v1/users/nobody/feed.atom")
        .await
        .assert_problem(404);
    app.get("/v1/domains/nothing-here.example/feed.atom")
        .await
        .assert_problem(404);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_cached_site_page_is_dropped_by_the_next_submission(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let (_, at) = submit_at(&app, &ada, "https://cached.example/1", "One").await;
    app.get_at("/v1/domains/cached.example", at).await;
    let cached = app.get("/v1/domains/cached.example").await;
    assert_eq!(cached.header("x-cache"), Some("hit"));

    submit_at(&app, &ada, "https://cached.example/2", "Two").await;
    crate::history::until_served(&app, "/v1/domains/cached.example", |body| {
        body["resources"] == 2
    })
    .await;
}

/// An API node over `db` on which only `projections` run, as on a
/// deployment of a release before the others existed.
pub(crate) async fn running_only(
    db: &PgConnectOptions,
    projections: &[Projection],
) -> (TestApp, RunningProjectors) {
    let app = spawn_app_with(db.clone(), Roles::API_ONLY).await;
    let running = app.start_some_projectors(projections, 100).await;
    (app, running)
}

/// Waits until each of `projections` has applied `position`.
pub(crate) async fn wait_for(app: &TestApp, projections: &[Projection], position: u64) {
    let positions = ViewPositions::new(app.reads.clone());
    for projection in projections {
        positions
            .wait_for(*projection, position, Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("{} did not reach {position}: {e}", projection.name()));
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn views_added_after_the_history_was_written_show_all_of_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // The projections that existed before these views did run; the new
    // ones do not, as on a deployment before this version.
    let older = [
        Projection::Users,
        Projection::Resources,
        Projection::Comments,
        Projection::Bookmarks,
        Projection::News,
    ];
    let (app, older_running) = running_only(&db, &older).await;
    let mut running = vec![older_running];
    let ada = app.register("ada").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    let (id, _) = crate::history::edited_twice(&app, &ada.token).await;
    let (kept, _) = submit_at(&app, &ada, "https://www.old.example/kept", "Kept").await;
    let (spam, _) = submit_at(&app, &ada, "https://old.example/spam", "Spam").await;
    hide(&app, &moderator, &spam).await;
    let head = app.head().await;
    wait_for(&app, &older, head).await;
    let checkpoint: Option<i64> = sqlx::query_scalar(
        "SELECT position FROM projection_checkpoints WHERE projection IN ('history', 'sites')",
    )
    .fetch_optional(app.reads.pool())
    .await
    .unwrap();
    assert_eq!(checkpoint, None, "the new views have not started");

    // The new projections start from the first event.
    for projection in [Projection::History, Projection::Sites] {
        running.push(app.start_projector(projection, 100).await);
    }
    let history = app
        .get_at(&format!("/v1/resources/{id}/history"), head)
        .await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        history.body["items"][1]["changes"][0],
        json!({"field": "title", "before": "The first title", "after": "The second title"})
    );
    let site = app.get_at("/v1/domains/old.example", head).await;
    assert_eq!(site.body["resources"], 1);
    assert_eq!(ids(&site.body), [kept.as_str()]);

    // A replay of the new views yields the same tables.
    resourcify_testkit::assert_replay_changes_nothing(
        &app.store,
        &db,
        &[Projection::History, Projection::Sites],
    )
    .await;
}
