//! Flags (issue #25, point 4): members with enough karma flag resources
//! and comments, once each and never their own; enough distinct flags hold
//! a resource out of the front page, the lists and search until a
//! moderator keeps it (back in the lists, logged) or hides it (out for
//! good); moderators read the queue, most flagged first; a replay builds
//! the same views.

use reqwest::Method;
use resourcify::NodeSettings;
use resourcify_testkit::{FeedAnswer, FeedServer};
use resourcify_testkit::{Registered, TestApp, TestResponse, spawn_app_configured};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Two distinct flags hold a resource; one karma allows flagging.
fn flag_settings(settings: &mut NodeSettings) {
    settings.app.karma.min_karma_to_flag = 1;
    settings.app.flag_threshold = 2;
}

async fn spawn(db: PgConnectOptions) -> TestApp {
    spawn_app_configured(db, flag_settings).await
}

fn position(response: &TestResponse) -> u64 {
    assert_eq!(response.status, 200, "{response:#?}");
    response.position()
}

fn id_of(response: &TestResponse) -> String {
    assert_eq!(response.status, 201, "{response:#?}");
    response.id()
}

/// Registers `username` with one karma: `giver` upvotes a resource of theirs.
async fn member_with_karma(app: &TestApp, username: &str, giver: &Registered) -> Registered {
    let member = app.register(username).await;
    let theirs = id_of(&app.submit(&member.token, json!({})).await);
    position(
        &app.put(&format!("/v1/resources/{theirs}/vote"), &giver.token)
            .await,
    );
    member
}

/// Flags what `path` names, once the views show everything so far (the
/// flagger's karma included).
async fn flag(app: &TestApp, who: &Registered, path: &str, reason: &str) -> TestResponse {
    let request = app
        .http
        .post(app.url(path))
        .bearer_auth(&who.token)
        .header("X-Resourcify-Min-Position", app.head().await)
        .json(&json!({"reason": reason}));
    app.send(request).await
}

async fn post(app: &TestApp, who: &Registered, path: &str, body: Value) -> TestResponse {
    app.request(Method::POST, path, Some(&body), Some(&who.token), None)
        .await
}

/// A moderator's decision (`path`), with a reason; answers its position.
async fn moderate(app: &TestApp, moderator: &Registered, path: &str) -> u64 {
    let body = json!({"reason": "Checked by a moderator."});
    position(&post(app, moderator, path, body).await)
}

/// A GET of `path` as `who`, once the views show `at`.
async fn get_as(app: &TestApp, who: &Registered, path: &str, at: u64) -> TestResponse {
    let request = app
        .http
        .get(app.url(path))
        .bearer_auth(&who.token)
        .header("X-Resourcify-Min-Position", at);
    app.send(request).await
}

async fn queue(app: &TestApp, who: &Registered, at: u64) -> TestResponse {
    get_as(app, who, "/v1/moderation/queue", at).await
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().or(item["target_id"].as_str()).unwrap())
        .collect()
}

/// Whether `id` is on the front page, in the newest list, in its tag's
/// list, in search and on its site's page (and counted there), at `at`:
/// all or none, else the test fails.
async fn listed(app: &TestApp, id: &str, at: u64) -> bool {
    let mut found = Vec::new();
    // `TestApp::submit`'s URLs are all on one site.
    let site = "/v1/domains/example.org";
    for path in [
        "/v1/feed",
        "/v1/resources",
        "/v1/resources?tag=flagged",
        "/v1/search?q=flaggable",
        site,
    ] {
        let page = app.get_at(path, at).await;
        assert_eq!(page.status, 200, "{path}: {page:#?}");
        found.push(ids(&page.body).contains(&id));
    }
    assert!(found.iter().all(|f| *f == found[0]), "{found:?}");
    // The site counts what its page lists (a handful: one page).
    let page = app.get_at(site, at).await;
    let items = page.body["items"].as_array().unwrap().len();
    assert_eq!(page.body["resources"], items, "{page:#?}");
    found[0]
}

/// Ada's resource, in a tag and search of its own; Bob and Carol, who
/// may flag; a moderator.
struct Cast {
    ada: Registered,
    bob: Registered,
    carol: Registered,
    moderator: Registered,
    resource: String,
    /// The resource's flags.
    path: String,
}

impl Cast {
    async fn new(app: &TestApp) -> Self {
        let ada = app.register("ada").await;
        let bob = member_with_karma(app, "bob", &ada).await;
        let carol = member_with_karma(app, "carol", &ada).await;
        let moderator = app.register("moderator").await;
        app.grant_as_operator("moderator", "moderator").await;
        let fields = json!({"title": "A flaggable resource", "tags": ["flagged"]});
        let resource = id_of(&app.submit(&ada.token, fields).await);
        let path = format!("/v1/resources/{resource}/flags");
        Self {
            ada,
            bob,
            carol,
            moderator,
            resource,
            path,
        }
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn flags_take_karma_one_per_member_never_ones_own_and_a_known_reason(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn(db).await;
    let ada = app.register("ada").await;
    let bob = member_with_karma(&app, "bob", &ada).await;
    let newcomer = app.register("newcomer").await;
    let resource = id_of(&app.submit(&ada.token, json!({})).await);
    let path = format!("/v1/resources/{resource}/flags");

    let refused = flag(&app, &newcomer, &path, "spam").await;
    refused.assert_problem(403);
    assert_eq!(
        refused.body["type"],
        "https://resourcify.dev/problems/not-enough-karma"
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("at least 1 karma")
    );

    let bad = flag(&app, &bob, &path, "rude").await;
    assert!(matches!(bad.status.as_u16(), 400 | 422), "{bad:#?}");
    bad.assert_problem(bad.status.as_u16());

    let at = position(&flag(&app, &bob, &path, "spam").await);
    flag(&app, &bob, &path, "duplicate")
        .await
        .assert_problem(409);
    // One's open flags are in one's export.
    let export = get_as(&app, &bob, "/v1/me/export", at).await;
    assert_eq!(export.status, 200, "{export:#?}");
    let flags = &export.body["flags"];
    assert_eq!(flags[0]["target_id"], resource.as_str(), "{flags:#?}");
    assert_eq!(flags[0]["target_kind"], "resource");
    assert_eq!(flags[0]["reason"], "spam");

    // Ada has karma too (from Bob's upvote), but not on her own resource.
    position(
        &app.put(&format!("/v1/resources/{resource}/vote"), &bob.token)
            .await,
    );
    let own = flag(&app, &ada, &path, "spam").await;
    own.assert_problem(403);
    assert_eq!(
        own.body["type"],
        "https://resourcify.dev/problems/forbidden"
    );

    let missing = format!("/v1/resources/{}/flags", uuid::Uuid::now_v7());
    flag(&app, &bob, &missing, "spam").await.assert_problem(404);

    // A withdrawn flag before any hold takes the entry out of the queue;
    // withdrawing again changes nothing.
    let moderator = app.register("moderator").await;
    let granted = app.grant_as_operator("moderator", "moderator").await;
    let queued = queue(&app, &moderator, granted).await;
    assert_eq!(ids(&queued.body), [resource.as_str()], "{queued:#?}");
    let at = position(&app.delete(&path, &bob.token).await);
    position(&app.delete(&path, &bob.token).await);
    let queued = queue(&app, &moderator, at).await;
    assert_eq!(queued.body["items"], json!([]), "{queued:#?}");
    queue(&app, &bob, at).await.assert_problem(403);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn enough_flags_hold_a_resource_out_of_every_list_until_a_moderator_keeps_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn(db.clone()).await;
    let Cast {
        ada,
        bob,
        carol,
        moderator,
        resource,
        path,
    } = Cast::new(&app).await;

    let at = position(&flag(&app, &bob, &path, "off-topic").await);
    assert!(listed(&app, &resource, at).await, "one flag holds nothing");
    let at = position(&flag(&app, &carol, &path, "spam").await);
    assert!(!listed(&app, &resource, at).await, "two flags hold it");
    let page = app.get_at(&format!("/v1/resources/{resource}"), at).await;
    assert_eq!(page.status, 200, "a held resource is still there by id");
    assert_eq!(page.body["held"], true, "and says it is held: {page:#?}");

    // A comment flagged once is queued after the resource flagged twice.
    let body = json!({"body": "Buy cheap watches here."});
    let comments = format!("/v1/resources/{resource}/comments");
    let comment = id_of(&post(&app, &ada, &comments, body).await);
    let at = position(&flag(&app, &bob, &format!("/v1/comments/{comment}/flags"), "spam").await);
    let queued = queue(&app, &moderator, at).await;
    assert_eq!(ids(&queued.body), [resource.as_str(), comment.as_str()]);
    let first = &queued.body["items"][0];
    assert_eq!(first["flags"], 2);
    assert_eq!(first["held"], true);
    assert_eq!(first["target_kind"], "resource");
    assert_eq!(first["resource_title"], "A flaggable resource");
    assert_eq!(
        first["reasons"],
        json!([{"reason": "off-topic", "flags": 1}, {"reason": "spam", "flags": 1}])
    );
    assert_eq!(queued.body["items"][1]["held"], false);
    // Keyset pages: one entry a page, in the same order.
    let one = get_as(&app, &moderator, "/v1/moderation/queue?limit=1", at).await;
    assert_eq!(ids(&one.body), [resource.as_str()]);
    let cursor = one.body["next_cursor"].as_str().unwrap();
    let next_page = format!("/v1/moderation/queue?limit=1&cursor={cursor}");
    let next = get_as(&app, &moderator, &next_page, at).await;
    assert_eq!(ids(&next.body), [comment.as_str()], "{next:#?}");

    // The moderator keeps it: back in every list, out of the queue, logged.
    let at = moderate(&app, &moderator, &format!("{path}/dismiss")).await;
    assert!(
        listed(&app, &resource, at).await,
        "kept, it is listed again"
    );
    let page = app.get_at(&format!("/v1/resources/{resource}"), at).await;
    assert_eq!(page.body["held"], false, "{page:#?}");
    let queued = queue(&app, &moderator, at).await;
    assert_eq!(ids(&queued.body), [comment.as_str()]);
    let log = app.get_at("/v1/moderation-log", at).await;
    assert_eq!(log.body["items"][0]["action"], "flags.dismissed");
    assert_eq!(log.body["items"][0]["subject_id"], resource.as_str());
    // Nothing left to dismiss.
    let again = json!({"reason": "Checked again."});
    post(&app, &moderator, &format!("{path}/dismiss"), again)
        .await
        .assert_problem(409);

    app.wait_until_caught_up().await;
    resourcify_testkit::assert_views_equal_a_clean_replay(&app.store, &db).await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_held_resource_a_moderator_hides_stays_out_and_a_restore_starts_a_new_round(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn(db.clone()).await;
    let Cast {
        ada: _,
        bob,
        carol,
        moderator,
        resource,
        path,
    } = Cast::new(&app).await;
    position(&flag(&app, &bob, &path, "spam").await);
    position(&flag(&app, &carol, &path, "spam").await);

    let at = moderate(&app, &moderator, &format!("/v1/resources/{resource}/hide")).await;
    assert!(!listed(&app, &resource, at).await);
    let queued = queue(&app, &moderator, at).await;
    assert_eq!(queued.body["items"], json!([]), "hiding decided it");

    // Restored, it is listed again, and its old flags no longer count:
    // one new flag holds nothing, the same member may flag anew.
    let at = moderate(
        &app,
        &moderator,
        &format!("/v1/resources/{resource}/restore"),
    )
    .await;
    assert!(listed(&app, &resource, at).await);
    let at = position(&flag(&app, &bob, &path, "spam").await);
    assert!(listed(&app, &resource, at).await);
    let queued = queue(&app, &moderator, at).await;
    assert_eq!(queued.body["items"][0]["flags"], 1);

    app.wait_until_caught_up().await;
    resourcify_testkit::assert_views_equal_a_clean_replay(&app.store, &db).await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_flag_no_projection_can_read_is_a_dead_letter_and_the_views_go_on(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn(db).await;
    let broken = crate::dead_letters::publish_raw_as(
        &app,
        "flags",
        "flags.raised.v1",
        "{\"not\": \"a flag\"}",
    )
    .await;
    let Cast {
        bob,
        moderator,
        resource,
        path,
        ..
    } = Cast::new(&app).await;
    let at = position(&flag(&app, &bob, &path, "broken-link").await);
    let queued = queue(&app, &moderator, at).await;
    assert_eq!(ids(&queued.body), [resource.as_str()], "{queued:#?}");

    app.wait_until_caught_up_allowing_dead_letters().await;
    let letters = app.reads.dead_letters_after("", -1, 100).await.unwrap();
    let parked: Vec<_> = letters
        .iter()
        .map(|l| (l.projection.as_str(), l.position))
        .collect();
    let broken = i64::try_from(broken).unwrap();
    assert_eq!(
        parked,
        [("flags", broken), ("resources", broken), ("sites", broken)]
    );
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_held_news_item_leaves_the_news_and_the_front_page_until_kept(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let server = FeedServer::start().await;
    let atom = FeedAnswer::body("application/atom+xml", crate::news::ATOM);
    server.answer("/atom", atom);
    let app = crate::news::news_app_with(db, &server, flag_settings).await;
    let admin = crate::news::admin(&app).await;
    let bob = member_with_karma(&app, "bob", &admin).await;
    let carol = member_with_karma(&app, "carol", &admin).await;
    let source = crate::news::add_source(&app, &admin, &server.url("/atom"), &["db"]).await;
    crate::news::source_when(&app, &admin, &source, |s| s["item_count"] == 2).await;
    let news = app.get_at("/v1/news", app.head().await).await;
    let item = ids(&news.body)[0].to_owned();
    let in_news = async |at| {
        let news = app.get_at("/v1/news", at).await;
        let front = app.get_at("/v1/feed?limit=100", at).await;
        let (news, front) = (ids(&news.body), ids(&front.body));
        assert_eq!(
            news.contains(&item.as_str()),
            front.contains(&item.as_str())
        );
        news.contains(&item.as_str())
    };

    let path = format!("/v1/resources/{item}/flags");
    position(&flag(&app, &bob, &path, "broken-link").await);
    let at = position(&flag(&app, &carol, &path, "broken-link").await);
    assert!(!in_news(at).await, "held, the item leaves the news");
    let at = moderate(&app, &admin, &format!("{path}/dismiss")).await;
    assert!(in_news(at).await, "kept, it is back");
}
