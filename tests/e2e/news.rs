//! The tech news feed against a local feed server: RSS, Atom and JSON Feed
//! items are published exactly once (polled again, by two ingesters, after
//! a restart); a node stopped mid-poll gives its lease back; conditional requests, failures and recovery; the SSRF guard;
//! and the news as lists, in the front page, in personal feeds, and as
//! Atom and RSS.

use std::time::Duration;

use futures::StreamExt;
use reqwest::Method;
use resourcify::{NodeSettings, Roles};
use resourcify_news::fetch::AllowList;
use resourcify_testkit::{
    FeedAnswer, FeedServer, Registered, TestApp, TestResponse, spawn_app_configured,
};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const RSS: &str = include_str!("../fixtures/feeds/rss.xml");
pub(crate) const ATOM: &str = include_str!("../fixtures/feeds/atom.xml");
const JSON_FEED: &str = include_str!("../fixtures/feeds/feed.json");

/// A deployment whose ingester polls every 100 ms and may fetch from `server`.
/// Its leases on sources last 5 s: a node these tests drop in the middle of
/// a poll never gives its lease back, and the others wait for it to expire.
async fn news_app(db: PgConnectOptions, server: &FeedServer) -> TestApp {
    news_app_with(db, server, |_| {}).await
}

/// [`news_app`] with other settings changed by `configure`.
pub(crate) async fn news_app_with(
    db: PgConnectOptions,
    server: &FeedServer,
    configure: impl FnOnce(&mut NodeSettings),
) -> TestApp {
    let allow = AllowList::parse(&server.host()).unwrap();
    spawn_app_configured(db, |s| {
        s.roles.ingest = true;
        s.ingester.tick = Duration::from_millis(100);
        s.ingester.lease = Duration::from_secs(5);
        s.news_fetch.allow_hosts = allow;
        s.news_fetch.timeout = Duration::from_millis(1_500);
        s.news_fetch.max_body_bytes = 16 * 1024;
        configure(s);
    })
    .await
}

pub(crate) async fn admin(app: &TestApp) -> Registered {
    let admin = app.register("editor").await;
    app.make_admin(&admin).await
}

pub(crate) async fn add_source(
    app: &TestApp,
    admin: &Registered,
    url: &str,
    tags: &[&str],
) -> String {
    let added = app
        .post(
            "/v1/news-sources",
            &json!({"url": url, "tags": tags}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(added.status, 201, "{added:#?}");
    added.id()
}

/// A GET as `user`.
async fn get_as(app: &TestApp, user: &Registered, path: &str) -> TestResponse {
    app.request(Method::GET, path, None, Some(&user.token), None)
        .await
}

/// The source once `done` holds of it; fails after 15 s. It is read again
/// each time the news projection reports a change, not on a timer.
pub(crate) async fn source_when(
    app: &TestApp,
    admin: &Registered,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    // Subscribed before the first read, so no change slips in between.
    let mut changes = app
        .nats
        .subscribe(app.namespace.view_notice_subject("news"))
        .await
        .unwrap();
    // The server has the subscription once the flush returns.
    app.nats.flush().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let source = get_as(app, admin, &format!("/v1/news-sources/{id}")).await;
        if source.status == 200 && done(&source.body) {
            return source.body;
        }
        let changed = tokio::time::timeout_at(deadline, changes.next()).await;
        assert!(
            matches!(changed, Ok(Some(_))),
            "the source never got there: {source:#?}"
        );
    }
}

/// Asks for a poll now and returns the source after it.
async fn poll_now(app: &TestApp, admin: &Registered, id: &str) -> Value {
    // The poll before this one must be reported first, or its report
    // would pass for this one's.
    let before =
        source_when(app, admin, id, |s| s["status"] != "pending").await["last_fetched_at"].clone();
    let refresh = app
        .post(
            &format!("/v1/news-sources/{id}/refresh"),
            &json!({}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(refresh.status, 200, "{refresh:#?}");
    source_when(app, admin, id, |s| {
        !s["last_fetched_at"].is_null() && s["last_fetched_at"] != before
    })
    .await
}

/// How many `news-item.published` events the log holds: what the views
/// show could hide a duplicate, the log cannot.
async fn published_in_log(app: &TestApp) -> usize {
    let head = app.head().await;
    app.store
        .feed_after(0)
        .await
        .unwrap()
        .take(head as usize)
        .filter(|e| {
            let ce_type = e.as_ref().unwrap().ce_type.clone();
            async move { ce_type.as_deref() == Some("resourcify.news-item.published.v1") }
        })
        .count()
        .await
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn rss_atom_and_json_feed_items_are_published_exactly_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let server = FeedServer::start().await;
    server.answer("/rss", FeedAnswer::body("application/rss+xml", RSS));
    server.answer("/atom", FeedAnswer::body("application/atom+xml", ATOM));
    server.answer(
        "/json",
        FeedAnswer::body("application/feed+json", JSON_FEED),
    );
    let app = news_app(db, &server).await;
    let admin = admin(&app).await;
    let mut sources = Vec::new();
    for (path, expected) in [("/rss", 3), ("/atom", 2), ("/json", 2)] {
        let id = add_source(&app, &admin, &server.url(path), &["news"]).await;
        let source = source_when(&app, &admin, &id, |s| s["status"] == "ok").await;
        assert_eq!(source["item_count"], expected, "{source:#}");
        sources.push(id);
    }
    let rss = source_when(&app, &admin, &sources[0], |_| true).await;
    assert_eq!(
        rss["title"], "Systems Weekly",
        "the feed's own title: {rss:#}"
    );

    // Polled again, by this ingester and by a second one (a restarted
    // process is one more of those): nothing new.
    let mut settings = app.settings.clone();
    settings.roles = Roles::INGEST_ONLY;
    let second = resourcify::start(settings.clone()).await.unwrap();
    for _ in 0..3 {
        for id in &sources {
            let again = poll_now(&app, &admin, id).await;
            assert_eq!(again["status"], "ok", "{again:#}");
        }
    }
    drop(second);
    let restarted = resourcify::start(settings).await.unwrap();
    for id in &sources {
        poll_now(&app, &admin, id).await;
    }
    drop(restarted);
    assert_eq!(published_in_log(&app).await, 7);

    let news = app.get_at("/v1/news?limit=100", app.head().await).await;
    let items = news.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 7, "{news:#?}");
    let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"Async drop, explained"), "{titles:?}");
    let item = items
        .iter()
        .find(|i| i["title"] == "Async drop, explained")
        .unwrap();
    assert_eq!(
        item["description"], "Why async drop is hard.",
        "markup is stripped"
    );
    assert_eq!(item["tags"], json!(["news", "rust"]));
    assert_eq!(item["source"]["title"], "Systems Weekly");
    assert!(item["author"].is_null(), "{item:#}");
    // Tracking parameters are not part of an item's identity.
    let uring = items
        .iter()
        .find(|i| i["title"] == "io_uring in production")
        .unwrap();
    assert_eq!(uring["url"], "https://systems.example.org/posts/io-uring");

    let by_source = app.get(&format!("/v1/news?source={}", sources[1])).await;
    let atom_titles: Vec<&str> = by_source.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        atom_titles,
        ["B-trees versus LSM trees, again", "What VACUUM really does"]
    );
    let tagged = app.get("/v1/news?tag=postgres").await;
    assert_eq!(
        tagged.body["items"].as_array().unwrap().len(),
        1,
        "{tagged:#?}"
    );
}

/// A node stopped for a deploy (`stop`, then `wait`, as `serve` does on
/// SIGTERM) in the middle of a poll finishes it, reports it and gives the
/// source's lease back: the next node polls the source at once, not when a
/// production-length lease (two minutes) would have expired.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_node_stopped_mid_poll_finishes_it_and_gives_the_lease_back(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let server = FeedServer::start().await;
    // Answered after 1 s, within the tests' 1.5 s fetch limit.
    server.answer("/slow", FeedAnswer::Slow(Duration::from_secs(1)));
    let app = news_app_with(db, &server, |s| s.roles.ingest = false).await;
    let admin = admin(&app).await;
    let mut settings = app.settings.clone();
    settings.roles = Roles::INGEST_ONLY;
    settings.ingester.lease = resourcify_news::IngesterSettings::default().lease;
    assert!(settings.ingester.lease >= Duration::from_secs(60));
    let mut first = resourcify::start(settings.clone()).await.unwrap();

    let id = add_source(&app, &admin, &server.url("/slow"), &["news"]).await;
    server.until_arrived("/slow", Duration::from_secs(15)).await;
    first.stop();
    first.wait().await;
    assert_eq!(server.seen("/slow").len(), 1, "the poll under way finished");
    let polled = source_when(&app, &admin, &id, |s| s["status"] == "ok").await;
    assert_eq!(polled["item_count"], 0, "{polled:#}");

    let _next = resourcify::start(settings).await.unwrap();
    let again = poll_now(&app, &admin, &id).await;
    assert_eq!(again["status"], "ok", "{again:#}");
    assert_eq!(server.seen("/slow").len(), 2);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn not_modified_appends_nothing_and_a_failing_source_recovers(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let server = FeedServer::start().await;
    server.answer(
        "/feed",
        FeedAnswer::with_etag("application/rss+xml", RSS, "\"v1\""),
    );
    let app = news_app(db, &server).await;
    let admin = admin(&app).await;
    let id = add_source(&app, &admin, &server.url("/feed"), &["systems"]).await;
    source_when(&app, &admin, &id, |s| s["item_count"] == 3).await;
    let head = app.head().await;

    // The ETag goes back; the 304 appends the poll's report and nothing else.
    let polled = poll_now(&app, &admin, &id).await;
    assert_eq!(polled["status"], "ok");
    let seen = server.seen("/feed");
    let last = seen.last().unwrap();
    assert_eq!(
        (last.if_none_match.as_deref(), last.status),
        (Some("\"v1\""), 304)
    );
    // The refresh request and the report: two events, no item.
    assert_eq!(app.head().await, head + 2);
    assert_eq!(published_in_log(&app).await, 3);

    let failures = [
        (
            FeedAnswer::with_etag(
                "text/html",
                "<html><body>not a feed</body></html>",
                "\"v2\"",
            ),
            "could not be read",
        ),
        (
            FeedAnswer::with_etag("application/rss+xml", "x".repeat(17 * 1024), "\"v3\""),
            "larger than the limit",
        ),
        (FeedAnswer::Slow(Duration::from_secs(3)), "timed out"),
        (FeedAnswer::Redirect("/missing".into()), "status 404"),
    ];
    for (count, (answer, error)) in failures.into_iter().enumerate() {
        server.answer("/feed", answer);
        let failed = poll_now(&app, &admin, &id).await;
        assert_eq!(failed["status"], "failing", "{failed:#}");
        assert!(
            failed["last_error"].as_str().unwrap().contains(error),
            "{failed:#}"
        );
        assert_eq!(failed["consecutive_failures"], count + 1);
    }

    // A good answer (one new item) recovers it.
    let newer = RSS.replacen(
        "<item>",
        "<item><title>A new post</title><link>https://systems.example.org/posts/new</link>\
         <guid>sw-4</guid></item><item>",
        1,
    );
    server.answer(
        "/feed",
        FeedAnswer::with_etag("application/rss+xml", newer, "\"v4\""),
    );
    let recovered = poll_now(&app, &admin, &id).await;
    assert_eq!(recovered["status"], "ok", "{recovered:#}");
    assert!(recovered["last_error"].is_null());
    assert_eq!(recovered["consecutive_failures"], 0);
    let recovered = source_when(&app, &admin, &id, |s| s["item_count"] == 4).await;
    assert_eq!(recovered["item_count"], 4);
    assert_eq!(published_in_log(&app).await, 4);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn sources_on_private_addresses_are_refused(_: PgPoolOptions, db: PgConnectOptions) {
    let server = FeedServer::start().await;
    let elsewhere = FeedServer::start().await;
    elsewhere.answer("/feed", FeedAnswer::body("application/rss+xml", RSS));
    let app = news_app(db, &server).await;
    let admin = admin(&app).await;

    // Addresses given as such are refused up front.
    for url in [
        elsewhere.url("/feed"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]/feed".to_owned(),
        "http://10.0.0.7/feed".to_owned(),
    ] {
        let refused = app
            .post(
                "/v1/news-sources",
                &json!({"url": url, "tags": ["x"]}),
                Some(&admin.token),
            )
            .await;
        refused.assert_problem(422);
        assert!(
            refused.body["detail"].as_str().unwrap().contains("refused"),
            "{refused:#?}"
        );
    }

    // Names are checked when they resolve, and redirects hop by hop.
    let by_name = format!("http://localhost:{}/feed", elsewhere.addr.port());
    server.answer("/to-loopback", FeedAnswer::Redirect(elsewhere.url("/feed")));
    server.answer(
        "/to-metadata",
        FeedAnswer::Redirect("http://169.254.169.254/latest/meta-data/".into()),
    );
    for url in [
        by_name,
        server.url("/to-loopback"),
        server.url("/to-metadata"),
    ] {
        let id = add_source(&app, &admin, &url, &["x"]).await;
        let source = source_when(&app, &admin, &id, |s| s["status"] != "pending").await;
        assert_eq!(source["status"], "failing", "{source:#}");
        assert!(
            source["last_error"]
                .as_str()
                .unwrap()
                .starts_with("refused"),
            "{source:#}"
        );
    }
    assert!(
        elsewhere.seen("/feed").is_empty(),
        "the refused server was never asked"
    );
    assert_eq!(published_in_log(&app).await, 0);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn news_joins_the_feeds_and_can_be_voted_bookmarked_and_shared(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let server = FeedServer::start().await;
    server.answer("/atom", FeedAnswer::body("application/atom+xml", ATOM));
    let app = news_app(db, &server).await;
    let admin = admin(&app).await;
    let member = app.register("reader").await;

    // Only admins manage sources.
    let refused = app
        .post(
            "/v1/news-sources",
            &json!({"url": server.url("/atom"), "tags": ["db"]}),
            Some(&member.token),
        )
        .await;
    refused.assert_problem(403);
    get_as(&app, &member, "/v1/news-sources")
        .await
        .assert_problem(403);
    let invalid = app
        .post(
            "/v1/news-sources",
            &json!({"url": "ftp://x", "tags": [], "poll_interval_seconds": 5}),
            Some(&admin.token),
        )
        .await;
    invalid.assert_problem(422);

    let follows = app
        .put("/v1/me/followed-tags/postgres", &member.token)
        .await;
    assert_eq!(follows.status, 200, "{follows:#?}");
    let community = app
        .submit(
            &admin.token,
            json!({"title": "A community pick", "tags": ["postgres"]}),
        )
        .await;
    let source = add_source(&app, &admin, &server.url("/atom"), &["db"]).await;
    source_when(&app, &admin, &source, |s| s["item_count"] == 2).await;
    let at = app.head().await;

    let front = app.get_at("/v1/feed?limit=100", at).await;
    let front_titles: Vec<&str> = front.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(
        front_titles.contains(&"A community pick"),
        "{front_titles:?}"
    );
    assert!(
        front_titles.contains(&"What VACUUM really does"),
        "{front_titles:?}"
    );
    // The community list stays the community's.
    let resources = app.get_at("/v1/resources?limit=100", at).await;
    assert_eq!(
        resources.body["items"].as_array().unwrap().len(),
        1,
        "{resources:#?}"
    );

    let personal = get_as(&app, &member, &format!("/v1/me/feed?min_position={at}")).await;
    let personal_titles: Vec<&str> = personal.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        personal_titles,
        ["What VACUUM really does", "A community pick"],
        "{personal:#?}"
    );

    // A news item is a resource: voted on, bookmarked, shared.
    let news = app.get_at("/v1/news", at).await;
    let vacuum = news.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "What VACUUM really does")
        .unwrap();
    let item = vacuum["id"].as_str().unwrap().to_owned();
    let voted = app
        .put(&format!("/v1/resources/{item}/vote"), &member.token)
        .await;
    assert_eq!(voted.status, 200, "{voted:#?}");
    let bookmarked = app
        .put(&format!("/v1/resources/{item}/bookmark"), &member.token)
        .await;
    let at = bookmarked.position();
    let detail = app.get_at(&format!("/v1/resources/{item}"), at).await;
    assert_eq!(detail.body["votes"], 1, "{detail:#?}");
    let bookmarks = get_as(
        &app,
        &member,
        &format!("/v1/me/bookmarks?min_position={at}"),
    )
    .await;
    assert_eq!(bookmarks.body["items"][0]["id"], item.as_str());
    // No one edits a news item.
    app.patch(
        &format!("/v1/resources/{item}"),
        &json!({"title": "Mine now"}),
        &admin.token,
    )
    .await
    .assert_problem(403);

    let shared = app
        .post(
            &format!("/v1/news/{item}/share"),
            &json!({}),
            Some(&member.token),
        )
        .await;
    assert_eq!(shared.status, 201, "{shared:#?}");
    let at = shared.position();
    let resource = app.get_at(shared.header("location").unwrap(), at).await;
    assert_eq!(resource.body["url"], "https://db.example.org/vacuum");
    assert_eq!(resource.body["author"]["username"], "reader");
    assert!(resource.body["source"].is_null());
    let again = app
        .post(
            &format!("/v1/news/{item}/share"),
            &json!({}),
            Some(&admin.token),
        )
        .await;
    again.assert_problem(409);
    let community = community.body["id"].as_str().unwrap();
    app.post(
        &format!("/v1/news/{community}/share"),
        &json!({}),
        Some(&member.token),
    )
    .await
    .assert_problem(404);

    // Syndication: both formats parse and carry the entries.
    let atom = app.get_at("/v1/feed.atom", at).await;
    assert_eq!(atom.status, 200);
    assert!(
        atom.header("content-type")
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let parsed = feed_rs::parser::parse(atom.body.as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
    let entries: Vec<String> = parsed
        .entries
        .iter()
        .map(|e| e.title.clone().unwrap().content)
        .collect();
    assert_eq!(
        entries.len(),
        3,
        "two news items (the shared one once, as the member's) and the community pick: {entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|t| t == "B-trees versus LSM trees, again"),
        "{entries:?}"
    );
    let etag = atom.header("etag").unwrap().to_owned();
    let unchanged = app
        .send(
            app.http
                .get(app.url("/v1/feed.atom"))
                .header("If-None-Match", etag),
        )
        .await;
    assert_eq!(unchanged.status, 304);

    let rss = app.get("/v1/feed.rss").await;
    assert!(
        rss.header("content-type")
            .unwrap()
            .starts_with("application/rss+xml")
    );
    let parsed = feed_rs::parser::parse(rss.body.as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::RSS2);
    assert_eq!(parsed.entries.len(), 3, "the same entries as the Atom feed");

    let tagged = app.get("/v1/tags/postgres/feed.atom").await;
    let parsed = feed_rs::parser::parse(tagged.body.as_str().unwrap().as_bytes()).unwrap();
    let mut titles: Vec<String> = parsed
        .entries
        .iter()
        .map(|e| e.title.clone().unwrap().content)
        .collect();
    titles.sort();
    // The shared item once: the member's resource stands for it.
    assert_eq!(titles, ["A community pick", "What VACUUM really does"]);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn admins_change_and_remove_sources_and_the_items_stay(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let server = FeedServer::start().await;
    server.answer(
        "/rss",
        FeedAnswer::with_etag("application/rss+xml", RSS, "\"r1\""),
    );
    server.answer("/atom", FeedAnswer::body("application/atom+xml", ATOM));
    let app = news_app(db, &server).await;
    let admin = admin(&app).await;
    let id = add_source(&app, &admin, &server.url("/rss"), &["systems"]).await;
    source_when(&app, &admin, &id, |s| s["item_count"] == 3).await;

    // A new title and interval; then a new URL, which is polled at once and
    // without the old URL's ETag.
    let patched = app
        .patch(
            &format!("/v1/news-sources/{id}"),
            &json!({"title": "Systems, weekly", "poll_interval_seconds": 3600}),
            &admin.token,
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:#?}");
    let source = get_as(
        &app,
        &admin,
        &format!(
            "/v1/news-sources/{id}?min_position={}",
            patched.body["position"]
        ),
    )
    .await;
    assert_eq!(
        (&source.body["title"], &source.body["poll_interval_seconds"]),
        (&json!("Systems, weekly"), &json!(3600))
    );
    app.patch(
        &format!("/v1/news-sources/{id}"),
        &json!({"url": "ftp://x"}),
        &admin.token,
    )
    .await
    .assert_problem(422);
    app.patch(
        &format!("/v1/news-sources/{id}"),
        &json!({"url": server.url("/atom")}),
        &admin.token,
    )
    .await;
    let moved = source_when(&app, &admin, &id, |s| s["item_count"] == 5).await;
    assert_eq!(moved["url"], server.url("/atom"));
    assert_eq!(server.seen("/atom")[0].if_none_match, None);

    // The title back to the feed's own.
    let reset = app
        .patch(
            &format!("/v1/news-sources/{id}"),
            &json!({"title": null}),
            &admin.token,
        )
        .await;
    let at = reset.position();
    let list = get_as(&app, &admin, &format!("/v1/news-sources?min_position={at}")).await;
    assert_eq!(
        list.body["items"][0]["title"], "Database Internals Digest",
        "{list:#?}"
    );

    // Found by full-text search, like any resource.
    let found = app.get_at("/v1/search?q=vacuum", at).await;
    assert_eq!(
        found.body["items"][0]["title"], "What VACUUM really does",
        "{found:#?}"
    );

    let removed = app
        .delete(&format!("/v1/news-sources/{id}"), &admin.token)
        .await;
    assert_eq!(removed.status, 200, "{removed:#?}");
    let at = removed.position();
    get_as(
        &app,
        &admin,
        &format!("/v1/news-sources/{id}?min_position={at}"),
    )
    .await
    .assert_problem(404);
    let list = get_as(&app, &admin, "/v1/news-sources").await;
    assert_eq!(list.body["items"], json!([]));
    let news = app.get_at("/v1/news?limit=100", at).await;
    assert_eq!(
        news.body["items"].as_array().unwrap().len(),
        5,
        "the items stay"
    );
    app.post(
        &format!("/v1/news-sources/{id}/refresh"),
        &json!({}),
        Some(&admin.token),
    )
    .await
    .assert_problem(404);
}
