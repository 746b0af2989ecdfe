//! The contract at the edge: texts without NUL or control characters, one
//! way of refusing bodies (400 for syntax, 422 with JSON pointers), 405 with
//! `Allow`, positions beyond the log refused at once, feeds that are XML
//! whatever the log holds, and what browsers need (CORS, nosniff, CSP).

use resourcify_testkit::{TestApp, spawn_app, spawn_app_configured};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The pointers of a 422's refused fields.
fn pointers(response: &resourcify_testkit::TestResponse) -> Vec<String> {
    response.assert_problem(422);
    response.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {response:#?}"))
        .iter()
        .map(|e| e["pointer"].as_str().unwrap_or("(none)").to_owned())
        .collect()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn texts_with_nul_or_control_characters_are_refused_naming_the_field(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let admin = app.make_admin(&app.register("root").await).await;
    let head = app.head().await;
    let cases = [
        (json!({"title": "NUL\u{0} inside"}), "/title"),
        (json!({"title": "bell\u{7} inside"}), "/title"),
        (json!({"title": "two\nlines"}), "/title"),
        (json!({"title": "C1 \u{85} next line"}), "/title"),
        (json!({"description": "NUL\u{0}"}), "/description"),
        (json!({"description": "back\u{8}space"}), "/description"),
        (json!({"tags": ["rust", "nul\u{0}"]}), "/tags/1"),
        (json!({"url": "https://example.org/\u{0}"}), "/url"),
    ];
    for (fields, pointer) in cases {
        let refused = app.submit(&ada.token, fields.clone()).await;
        assert_eq!(pointers(&refused), [pointer], "{fields}");
    }
    let resource = app.submit(&ada.token, json!({})).await.body["id"].clone();
    let comment = |body: &str| json!({ "body": body });
    let refused = app
        .post(
            &format!("/v1/resources/{}/comments", resource.as_str().unwrap()),
            &comment("a NUL\u{0} here"),
            Some(&ada.token),
        )
        .await;
    assert_eq!(pointers(&refused), ["/body"]);
    let refused = app
        .post(
            "/v1/news-sources",
            &json!({"url": "https://example.org/feed", "title": "News\u{0}", "tags": ["news"]}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(pointers(&refused), ["/title"]);
    assert_eq!(
        app.head().await,
        head + 1,
        "only the good submission landed"
    );

    // Several lines are text where a text may have them.
    let fine = app
        .submit(
            &ada.token,
            json!({"description": "First line.\nSecond line,\tindented."}),
        )
        .await;
    assert_eq!(fine.status, 201, "{fine:#?}");
    let read = app
        .get_at(
            &format!("/v1/resources/{}", fine.body["id"].as_str().unwrap()),
            fine.position(),
        )
        .await;
    assert_eq!(
        read.body["description"],
        "First line.\nSecond line,\tindented."
    );
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn read_parameters_with_nul_are_refused_as_bad_requests_not_server_errors(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    // A 400 is what the metrics count too: no 5xx for anyone to page on.
    for path in [
        "/v1/search?q=rust%00book",
        "/v1/resources?author=ada%00",
        "/v1/resources?tag=%01rust",
        "/v1/users/ada%00",
        "/v1/users/ada%00/resources",
        "/v1/tags/rust%00/feed.atom",
        "/v1/feed?cursor=%00",
        // After another parameter, and in a name.
        "/v1/search?limit=5&q=rust%00book",
        "/v1/resources?limit=5&author=ada%00",
        "/v1/resources?tag=rust&%00=1",
        "/v1/users/a&b%00",
    ] {
        let refused = app.get(path).await;
        refused.assert_problem(400);
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .contains("control characters"),
            "{path}: {refused:#?}"
        );
    }
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn bodies_are_refused_the_same_way_everywhere_without_echoing_them(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let admin = app.make_admin(&app.register("root").await).await;
    let secret = "a-very-secret-value-that-must-not-come-back";

    // Syntax: 400, saying where.
    let broken = app
        .post_raw(
            "/v1/resources",
            "application/json",
            "{\"title\": ",
            Some(&ada.token),
        )
        .await;
    broken.assert_problem(400);
    let detail = broken.body["detail"].as_str().unwrap();
    assert!(detail.contains("line 1 column 10"), "{detail}");

    // Well-formed but misfit: 422, every field by pointer, no value echoed
    // and no type name of the code.
    let misfit = app
        .post(
            "/v1/resources",
            &json!({"title": 42, "tags": "rust", "kind": secret, "colour": "red"}),
            Some(&ada.token),
        )
        .await;
    let mut refused = pointers(&misfit);
    refused.sort();
    assert_eq!(refused, ["/colour", "/kind", "/tags", "/title", "/url"]);
    let text = format!("{} {}", misfit.body["detail"], misfit.body["errors"]);
    for leak in [secret, "String", "Vec<", "resourcify", "ResourceKind"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    let messages: Vec<&str> = misfit.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(messages.contains(&"is required"), "{messages:?}");
    assert!(
        messages.contains(&"is not a field of this request"),
        "{messages:?}"
    );

    // Out of range, in another operation: the same shape of answer.
    let range = app
        .post(
            "/v1/news-sources",
            &json!({"url": "https://example.org/feed", "tags": ["news"], "poll_interval_seconds": 5}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(pointers(&range), ["/poll_interval_seconds"]);

    // A rule only the domain knows still points into the body.
    let domain = app
        .post(
            "/v1/users",
            &json!({"username": "newbie", "email": "no-at-sign", "password": secret}),
            None,
        )
        .await;
    assert_eq!(pointers(&domain), ["/email"]);
    assert!(!domain.body.to_string().contains(secret));

    // Not JSON at all: 415, as problem+json.
    app.post_raw("/v1/resources", "text/plain", "title", Some(&ada.token))
        .await
        .assert_problem(415);
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_wrong_method_names_the_allowed_ones_and_a_future_position_is_refused_at_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let wrong = app
        .send(app.http.delete(app.url("/v1/feed")).bearer_auth(&ada.token))
        .await;
    wrong.assert_problem(405);
    assert_eq!(wrong.header("allow"), Some("GET"));
    let wrong = app.send(app.http.put(app.url("/v1/resources"))).await;
    wrong.assert_problem(405);
    let mut allowed: Vec<&str> = wrong.header("allow").unwrap().split(", ").collect();
    allowed.sort();
    assert_eq!(allowed, ["GET", "POST"]);

    // No write ever answered this position: refused with the head named,
    // not waited for (a wait would end in 503 after the read wait).
    let head = app.head().await;
    let beyond = head + 1_000;
    for path in [
        format!("/v1/feed?min_position={beyond}"),
        format!("/v1/users/ada?min_position={beyond}"),
        format!("/v1/feed.atom?min_position={beyond}"),
    ] {
        let refused = app.get(&path).await;
        refused.assert_problem(400);
        assert_eq!(
            refused.body["type"],
            "https://resourcify.dev/problems/position-beyond-head"
        );
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("({head})")), "{detail}");
    }
    // A position that a write answered is waited for as before.
    let submitted = app.submit(&ada.token, json!({})).await;
    let position = submitted.position();
    let read = app.get(&format!("/v1/feed?min_position={position}")).await;
    assert_eq!(read.status, 200);
    app.shut_down().await;
}

/// Publishes an event straight onto a resource's subject, as another
/// producer (or an older version of ours) might have, bypassing the domain.
async fn append_raw(app: &TestApp, ce_type: &str, id: uuid::Uuid, payload: Value) -> u64 {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("ce-type", ce_type);
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", uuid::Uuid::now_v7().to_string().as_str());
    headers.insert("ce-time", "2026-12-01T10:00:00Z");
    app.store
        .jetstream()
        .publish_with_headers(
            format!("{}.events.resource.{id}", app.namespace),
            headers,
            payload.to_string().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence
}

/// A resource submission with the given texts, appended as it is.
async fn append_submission(
    app: &TestApp,
    author: uuid::Uuid,
    title: &str,
    description: &str,
) -> (uuid::Uuid, u64) {
    let id = uuid::Uuid::now_v7();
    let payload = json!({
        "resource_id": id,
        "author_id": author,
        "title": title,
        "url": format!("https://example.org/{id}"),
        "canonical_url": format!("https://example.org/{id}"),
        "description": description,
        "tags": ["xml"],
        "kind": "article",
        "submitted_at": "2026-12-01T10:00:00Z",
    });
    let position = append_raw(app, "resourcify.resource.submitted.v2", id, payload).await;
    (id, position)
}

/// Whether every character is one XML 1.0 allows (`Char` production).
fn xml_chars_only(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    })
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn events_with_control_characters_in_the_log_still_project_and_feeds_stay_xml(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let (id, position) = append_submission(
        &app,
        ada.user_id,
        "Bad\u{0} ti\u{1}tle\u{85}",
        "Line one\u{0}\nline\u{8} two",
    )
    .await;
    let read = app.get_at(&format!("/v1/resources/{id}"), position).await;
    assert_eq!(read.status, 200, "it projected: {read:#?}");
    assert_eq!(read.body["title"], "Bad title");
    assert_eq!(read.body["description"], "Line one\nline two");

    for path in [
        "/v1/feed.atom",
        "/v1/feed.rss",
        "/v1/tags/xml/feed.atom",
        "/v1/tags/xml/feed.rss",
    ] {
        let response = app
            .send(
                app.http
                    .get(app.url(path))
                    .header("X-Resourcify-Min-Position", position),
            )
            .await;
        assert_eq!(response.status, 200, "{path}");
        let body = response.body.as_str().unwrap();
        assert!(xml_chars_only(body), "{path} holds characters XML forbids");
        let feed = feed_rs::parser::parse(body.as_bytes())
            .unwrap_or_else(|e| panic!("{path} is not a feed: {e}"));
        assert!(
            feed.entries
                .iter()
                .any(|e| e.title.as_ref().is_some_and(|t| t.content == "Bad title")),
            "{path}"
        );
    }
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn browsers_on_configured_origins_may_call_and_every_answer_is_nosniff(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let origin = "http://front.example:3000";
    let app = spawn_app_configured(db, |s| s.api.cors_origins = vec![origin.to_owned()]).await;
    let preflight = app
        .send(
            app.http
                .request(reqwest::Method::OPTIONS, app.url("/v1/resources"))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization, content-type, idempotency-key",
                ),
        )
        .await;
    assert!(preflight.status.is_success(), "{preflight:#?}");
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(origin)
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    let ada = app.register("ada").await;
    let submitted = app
        .send(
            app.http
                .post(app.url("/v1/resources"))
                .header("Origin", origin)
                .bearer_auth(&ada.token)
                .json(
                    &json!({"title": "From a browser", "url": "https://example.org/b",
                              "tags": ["web"], "kind": "article"}),
                ),
        )
        .await;
    assert_eq!(submitted.status, 201);
    assert_eq!(
        submitted.header("access-control-allow-origin"),
        Some(origin)
    );
    let exposed = submitted
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    for header in [
        "location",
        "etag",
        "link",
        "ratelimit",
        "retry-after",
        "x-resourcify-position",
        "x-request-id",
    ] {
        assert!(exposed.contains(header), "{header} not in {exposed}");
    }
    // Another origin gets no grant.
    let stranger = app
        .send(
            app.http
                .get(app.url("/v1/feed"))
                .header("Origin", "http://evil.example"),
        )
        .await;
    assert!(stranger.header("access-control-allow-origin").is_none());

    for path in [
        "/v1/feed",
        "/v1/no-such-route",
        "/v1/feed.atom",
        "/openapi.json",
    ] {
        let response = app.get(path).await;
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    let docs = app.get("/docs").await;
    assert_eq!(docs.status, 200);
    assert_eq!(docs.header("x-frame-options"), Some("DENY"));
    let csp = docs.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn without_configured_origins_no_browser_is_granted_access(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let preflight = app
        .send(
            app.http
                .request(reqwest::Method::OPTIONS, app.url("/v1/resources"))
                .header("Origin", "http://front.example")
                .header("Access-Control-Request-Method", "POST"),
        )
        .await;
    assert!(preflight.header("access-control-allow-origin").is_none());
    preflight.assert_problem(405);
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_weak_etag_revalidates_like_a_strong_one(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let first = app.get("/v1/feed").await;
    let etag = first.header("etag").unwrap().to_owned();
    for tag in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", W/{etag}"),
    ] {
        let again = app
            .send(
                app.http
                    .get(app.url("/v1/feed"))
                    .header("If-None-Match", &tag),
            )
            .await;
        assert_eq!(again.status, 304, "{tag}");
    }
    let _: Value = first.body;
    app.shut_down().await;
}

/// A news item, appended as the ingester would.
async fn append_news_item(app: &TestApp, url: &str) -> (uuid::Uuid, u64) {
    let id = uuid::Uuid::now_v7();
    let payload = json!({
        "resource_id": id,
        "source_id": uuid::Uuid::now_v7(),
        "source_title": "Rust Blog",
        "guid": url,
        "title": "Announcing Rust 1.99.0",
        "url": url,
        "canonical_url": url,
        "summary": "A new version of Rust.",
        "tags": ["rust", "release"],
        "published_at": "2026-11-20T00:00:00Z",
        "found_at": "2026-11-27T10:10:01.500Z",
    });
    let position = append_raw(app, "resourcify.news-item.published.v1", id, payload).await;
    (id, position)
}

/// How often `url` is listed in each merged list, as a member sees them.
async fn times_listed(app: &TestApp, url: &str, position: u64) -> Vec<(&'static str, usize)> {
    let mut counts = Vec::new();
    for path in ["/v1/feed?limit=100", "/v1/feed?sort=new&limit=100"] {
        let page = app.get_at(path, position).await;
        assert_eq!(page.status, 200, "{page:#?}");
        let n = page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["url"] == url)
            .count();
        counts.push((path, n));
    }
    for path in [
        "/v1/feed.atom",
        "/v1/feed.rss",
        "/v1/tags/rust/feed.atom",
        "/v1/tags/rust/feed.rss",
    ] {
        let document = app.get_at(path, position).await;
        let feed = feed_rs::parser::parse(document.body.as_str().unwrap().as_bytes()).unwrap();
        let n = feed
            .entries
            .iter()
            .filter(|e| e.links.iter().any(|l| l.href == url))
            .count();
        counts.push((path, n));
    }
    counts
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_shared_news_item_is_listed_once_in_every_feed(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let url = "https://blog.rust-lang.org/2026/11/20/Rust-1.99.0.html";
    let (item, position) = append_news_item(&app, url).await;
    let once = |counts: Vec<(&'static str, usize)>| {
        assert!(counts.iter().all(|(_, n)| *n == 1), "{counts:?}");
    };
    once(times_listed(&app, url, position).await);

    let shared = app
        .post(
            &format!("/v1/news/{item}/share"),
            &json!({}),
            Some(&ada.token),
        )
        .await;
    assert_eq!(shared.status, 201, "{shared:#?}");
    let shared_id = shared.id();
    let position = shared.position();
    once(times_listed(&app, url, position).await);
    // It is the member's resource that stands for it, with its author.
    let front = app.get_at("/v1/feed?limit=100", position).await;
    let listed = front.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["url"] == url)
        .unwrap()
        .clone();
    assert_eq!(listed["id"], shared_id.as_str());
    assert_eq!(listed["author"]["username"], "ada");
    // The news list still has the item itself.
    let news = app.get_at("/v1/news", position).await;
    assert!(
        news.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == item.to_string().as_str())
    );

    // Retracted, the share gives its place back to the news item.
    let retracted = app
        .delete(&format!("/v1/resources/{shared_id}"), &ada.token)
        .await;
    let position = retracted.position();
    once(times_listed(&app, url, position).await);
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn parameters_outside_the_document_are_400_naming_them(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let admin = app.make_admin(&app.register("root").await).await;
    let cases = [
        (
            reqwest::Method::GET,
            "/v1/resources?sort=random",
            "sort",
            "must be one of",
        ),
        (
            reqwest::Method::GET,
            "/v1/resources?limit=101",
            "limit",
            "100",
        ),
        (
            reqwest::Method::GET,
            "/v1/resources/not-a-uuid",
            "id",
            "uuid",
        ),
        // An empty segment where the path takes an id, as a client that
        // joins an unset variable into a URL sends.
        (reqwest::Method::POST, "/v1/news//share", "id", "uuid"),
        (reqwest::Method::GET, "/v1/resources//history", "id", "uuid"),
        (reqwest::Method::GET, "/v1/search", "q", "is required"),
        (
            reqwest::Method::GET,
            "/v1/streams/resources?after=-1",
            "after",
            "at least 0",
        ),
        (
            reqwest::Method::PUT,
            "/v1/users/root/roles/member",
            "role",
            "must be one of",
        ),
    ];
    for (method, path, field, says) in cases {
        let refused = app
            .request(method, path, None, Some(&admin.token), None)
            .await;
        refused.assert_problem(400);
        let errors = refused.body["errors"].as_array().unwrap();
        assert_eq!(errors[0]["field"], field, "{path}: {refused:#?}");
        let message = errors[0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{path}: {message}");
        let detail = refused.body["detail"].as_str().unwrap();
        for leak in [
            "param",
            "StaffRole",
            "ListOrder",
            "integer(",
            "Uuid",
            "string_uuid",
        ] {
            assert!(!detail.contains(leak), "{path}: {detail}");
        }
    }

    // A header parameter, named as the query's are.
    for garbage in ["garbage", "-1", "1.5", "18446744073709551616"] {
        let refused = app
            .send(
                app.http
                    .get(app.url("/v1/streams/resources"))
                    .header("Last-Event-ID", garbage),
            )
            .await;
        refused.assert_problem(400);
        assert_eq!(
            refused.body["errors"][0]["field"], "Last-Event-ID",
            "{refused:#?}"
        );
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(!detail.contains("integer("), "{detail}");
    }

    // A whole number the schema takes, written so that the server cannot
    // read it as one: refused per field, as the schema's refusals are.
    for written in ["1e2", "100.0", "18446744073709551616"] {
        let body = format!(r#"{{"up_to": {written}}}"#);
        let refused = app
            .send(
                app.http
                    .post(app.url("/v1/me/notifications/read"))
                    .bearer_auth(&admin.token)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        refused.assert_problem(422);
        assert_eq!(
            refused.body["errors"][0]["pointer"], "/up_to",
            "{refused:#?}"
        );
        let text = refused.body.to_string();
        assert!(
            !text.contains("MarkRead") && !text.contains("integer("),
            "{text}"
        );
    }
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn feeds_link_to_the_configured_public_url_whatever_host_a_client_sends(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s| {
        s.api.public_url = "https://resourcify.example/".into();
    })
    .await;
    let ada = app.register("ada").await;
    let submitted = app.submit(&ada.token, json!({"tags": ["rust"]})).await;
    let position = submitted.position();
    for path in ["/v1/feed.atom", "/v1/feed.rss", "/v1/tags/rust/feed.atom"] {
        // A forged Host first: its answer would be cached for everyone.
        let forged = app
            .send(
                app.http
                    .get(app.url(&format!("{path}?min_position={position}")))
                    .header("Host", "evil.example.org")
                    .header("X-Forwarded-Proto", "https"),
            )
            .await;
        assert_eq!(forged.status, 200, "{path}: {forged:#?}");
        for document in [forged, app.get_at(path, position).await] {
            let text = document.body.as_str().unwrap();
            assert!(!text.contains("evil.example.org"), "{path}: {text}");
            assert!(
                text.contains("https://resourcify.example/v1/"),
                "{path}: {text}"
            );
            feed_rs::parser::parse(text.as_bytes()).expect("a feed");
        }
    }
}

/// A request whose headers never end (slowloris) holds its connection only
/// until the idle timeout: the server closes it, and answers others meanwhile.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_connection_that_stops_sending_is_closed_when_idle(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app_configured(db, |s| {
        s.api.idle_connection_timeout = std::time::Duration::from_secs(1);
        s.app.read_wait = std::time::Duration::from_millis(100);
    })
    .await;
    let addr = app.base_url.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"GET /v1/tags HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    let opened = std::time::Instant::now();
    assert_eq!(app.get("/v1/tags").await.status, 200);

    let mut answer = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stalled.read_to_end(&mut answer),
    )
    .await
    .expect("the server closes an idle connection");
    // Closed (or reset), without an answer, and not before it was idle.
    assert!(closed.is_err() || answer.is_empty(), "{answer:?}");
    assert!(opened.elapsed() >= std::time::Duration::from_secs(1));
    app.shut_down().await;
}

/// A chunked body that cannot be read is a malformed request (400), not one
/// too large (413).
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_malformed_chunked_body_is_a_bad_request(_: PgPoolOptions, db: PgConnectOptions) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app(db).await;
    let addr = app.base_url.trim_start_matches("http://").to_owned();
    let mut connection = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // A chunk size that is not hexadecimal.
    let request = "POST /v1/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                   Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n";
    connection.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("chunked encoding") {
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            connection.read(&mut buffer),
        )
        .await
        .expect("an answer")
        .unwrap();
        assert!(read > 0, "closed: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..read]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    app.shut_down().await;
}

/// A refused tag in a query or a path is named, never repeated back.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_refused_tag_is_not_echoed(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let long = "a-value-that-must-not-come-back-in-the-answer";
    for refused in [
        app.get(&format!("/v1/resources?tag={long}")).await,
        app.get("/v1/resources?tag=not!a*tag").await,
        app.put(&format!("/v1/me/followed-tags/{long}"), &ada.token)
            .await,
    ] {
        assert!(refused.status.is_client_error(), "{refused:#?}");
        let text = refused.body.to_string();
        assert!(
            !text.contains(long) && !text.contains("not!a*tag"),
            "{text}"
        );
        assert!(text.contains("tag"), "{text}");
    }
    app.shut_down().await;
}

/// Of a repeated parameter the first counts, for `limit` as for the rest.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_first_of_a_repeated_parameter_counts(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let mut at = 0;
    for _ in 0..3 {
        at = app.submit(&ada.token, json!({})).await.position();
    }
    let page = app.get_at("/v1/resources?limit=2&limit=500", at).await;
    assert_eq!(page.status, 200, "{page:#?}");
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    let refused = app.get("/v1/resources?limit=500&limit=2").await;
    refused.assert_problem(400);
    assert_eq!(refused.body["errors"][0]["field"], "limit", "{refused:#?}");
    app.shut_down().await;
}
