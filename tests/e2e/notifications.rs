//! The inbox: replies, comments on one's resources, mentions, moderation;
//! never of one's own doing nor of a suspended or erased member's; pages
//! newest first; unread count and marking read; the private stream opened
//! with a single-use ticket, resumable; a history written before the view
//! existed is shown; a replay builds the same view.

use reqwest::Method;
use resourcify_projector::Projection;
use resourcify_testkit::{Registered, TestApp, TestResponse, spawn_app};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::streams::SseReader;

/// A GET as `who`, once the views show `position`.
async fn get_as(app: &TestApp, path: &str, who: &Registered, position: u64) -> TestResponse {
    let request = app
        .http
        .get(app.url(path))
        .bearer_auth(&who.token)
        .header("X-Resourcify-Min-Position", position);
    app.send(request).await
}

/// `who`'s inbox once it shows `position`: (kind, actor) newest first.
async fn inbox(app: &TestApp, who: &Registered, position: u64) -> Vec<(String, String)> {
    let page = get_as(app, "/v1/me/notifications", who, position).await;
    assert_eq!(page.status, 200, "{page:#?}");
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let actor = n["actor_username"].as_str().unwrap_or("").to_owned();
            (n["kind"].as_str().unwrap().to_owned(), actor)
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, a)| ((*k).to_owned(), (*a).to_owned()))
        .collect()
}

async fn submit(app: &TestApp, who: &Registered, fields: Value) -> (String, u64) {
    let submitted = app.submit(&who.token, fields).await;
    assert_eq!(submitted.status, 201, "{submitted:#?}");
    let id = submitted.id();
    (id, submitted.position())
}

/// Posts a comment as `who`; answers its id and position.
async fn comment(
    app: &TestApp,
    who: &Registered,
    resource: &str,
    body: &str,
    parent: Option<&str>,
) -> (String, u64) {
    let mut fields = json!({"body": body});
    if let Some(parent) = parent {
        fields["parent_id"] = json!(parent);
    }
    let path = format!("/v1/resources/{resource}/comments");
    let posted = app.post(&path, &fields, Some(&who.token)).await;
    assert_eq!(posted.status, 201, "{posted:#?}");
    let id = posted.id();
    (id, posted.position())
}

async fn moderate(app: &TestApp, moderator: &Registered, resource: &str, action: &str) -> u64 {
    let done = app
        .post(
            &format!("/v1/resources/{resource}/{action}"),
            &json!({"reason": "Reviewed by a moderator."}),
            Some(&moderator.token),
        )
        .await;
    assert_eq!(done.status, 200, "{done:#?}");
    done.position()
}

/// Two members, and a resource the first submitted.
async fn ada_grace_and_adas_resource(app: &TestApp) -> (Registered, Registered, String) {
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let (resource, _) = submit(app, &ada, json!({})).await;
    (ada, grace, resource)
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn each_kind_arrives_newest_first_and_never_of_ones_own_doing(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let bob = app.register("bob").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;

    // A description names grace, ada herself, and no member at all.
    let fields =
        json!({"title": "Notes", "description": "With @Grace and @ada, not @nobody_here."});
    let (resource, _) = submit(&app, &ada, fields).await;
    // A comment on ada's resource; ada's reply to it, naming grace (told
    // once, of the reply) and bob; ada's own comment tells no one.
    let (top, _) = comment(&app, &grace, &resource, "Great notes.", None).await;
    let reply = "Thanks @grace, and @bob see this.";
    let (reply, _) = comment(&app, &ada, &resource, reply, Some(&top)).await;
    comment(&app, &ada, &resource, "A note to myself, @ada.", None).await;
    moderate(&app, &moderator, &resource, "hide").await;
    let at = moderate(&app, &moderator, &resource, "restore").await;

    let expected = [
        ("restored", "moderator"),
        ("hidden", "moderator"),
        ("comment", "grace"),
    ];
    assert_eq!(inbox(&app, &ada, at).await, pairs(&expected));
    let expected = [("reply", "ada"), ("mention", "ada")];
    assert_eq!(inbox(&app, &grace, at).await, pairs(&expected));
    assert_eq!(inbox(&app, &bob, at).await, pairs(&[("mention", "ada")]));
    assert_eq!(inbox(&app, &moderator, at).await, pairs(&[]));

    // Who, what, where, when, read: one's own, for no shared cache.
    let page = get_as(&app, "/v1/me/notifications?limit=1", &grace, at).await;
    assert_eq!(page.header("cache-control"), Some("private, no-cache"));
    let newest = &page.body["items"][0];
    assert_eq!(newest["kind"], "reply");
    assert_eq!(newest["actor_id"], ada.user_id.to_string());
    assert_eq!(newest["resource_id"], resource.as_str());
    assert_eq!(newest["resource_title"], "Notes");
    assert_eq!(newest["comment_id"], reply.as_str());
    assert_eq!(newest["read"], false);
    assert!(newest["at"].as_str().is_some());
    // The next page, by the cursor the first gave.
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let next = format!("/v1/me/notifications?limit=1&cursor={cursor}");
    let older = get_as(&app, &next, &grace, at).await;
    assert_eq!(older.body["items"][0]["kind"], "mention");
    assert_eq!(older.body["items"][0]["comment_id"], Value::Null);
    assert!(older.body.get("next_cursor").is_none(), "{older:#?}");
    // Nobody reads an inbox without a token.
    app.get("/v1/me/notifications").await.assert_problem(401);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_unread_count_falls_as_notifications_are_marked_read(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let (ada, grace, resource) = ada_grace_and_adas_resource(&app).await;
    let (_, first) = comment(&app, &grace, &resource, "One.", None).await;
    let (_, second) = comment(&app, &grace, &resource, "Two.", None).await;
    let (_, third) = comment(&app, &grace, &resource, "Three.", None).await;
    let (app, ada) = (&app, &ada);
    let unread = |at| async move {
        let count = get_as(app, "/v1/me/notifications/unread-count", ada, at).await;
        assert_eq!(count.status, 200, "{count:#?}");
        assert_eq!(count.header("cache-control"), Some("private, no-cache"));
        count.body["unread"].as_u64().unwrap()
    };
    assert_eq!(unread(third).await, 3);

    let mark = |up_to: u64| {
        app.request(
            Method::POST,
            "/v1/me/notifications/read",
            Some(&json!({"up_to": up_to})),
            Some(&ada.token),
            None,
        )
    };
    let marked = mark(second).await;
    assert_eq!(marked.status, 200, "{marked:#?}");
    let at = marked.position();
    assert_eq!(unread(at).await, 1);
    let page = get_as(app, "/v1/me/notifications", ada, at).await;
    let read: Vec<bool> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["read"].as_bool().unwrap())
        .collect();
    assert_eq!(read, [false, true, true]);

    // Marking older ones read changes nothing; a position beyond the log
    // is refused.
    let again = mark(first).await;
    assert_eq!(again.status, 200, "{again:#?}");
    assert_eq!(unread(again.position()).await, 1);
    mark(third + 1_000_000).await.assert_problem(422);
    app.post("/v1/me/notifications/read", &json!({"up_to": third}), None)
        .await
        .assert_problem(401);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn an_edit_tells_only_whom_it_adds_and_drops_their_cached_inbox(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let (ada, grace, resource) = ada_grace_and_adas_resource(&app).await;
    let bob = app.register("bob").await;
    let (said, at) = comment(&app, &grace, &resource, "Hello.", None).await;
    assert_eq!(inbox(&app, &ada, at).await, pairs(&[("comment", "grace")]));
    assert_eq!(inbox(&app, &bob, at).await, pairs(&[]));
    let path = "/v1/me/notifications";
    let cached = app
        .request(Method::GET, path, None, Some(&bob.token), None)
        .await;
    assert_eq!(cached.header("x-cache"), Some("hit"));

    // The edit names ada (told already, of this comment) and bob (not yet).
    let body = json!({"body": "Hello @ada and @bob."});
    let edited = app
        .patch(&format!("/v1/comments/{said}"), &body, &grace.token)
        .await;
    assert_eq!(edited.status, 200, "{edited:#?}");
    // Bob's cached inbox is dropped by the notice, well before its TTL.
    crate::history::until_served_to(&app, path, Some(&bob.token), |body| {
        body["items"]
            .as_array()
            .is_some_and(|items| items.len() == 1)
    })
    .await;
    let at = edited.position();
    assert_eq!(inbox(&app, &bob, at).await, pairs(&[("mention", "grace")]));
    assert_eq!(inbox(&app, &ada, at).await, pairs(&[("comment", "grace")]));
    // Edited again, it tells no one twice.
    let body = json!({"body": "Hello @bob and @ada, again."});
    let again = app
        .patch(&format!("/v1/comments/{said}"), &body, &grace.token)
        .await;
    let at = again.position();
    assert_eq!(inbox(&app, &bob, at).await, pairs(&[("mention", "grace")]));
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn deleted_comments_suspended_and_erased_members_leave_no_notification(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db.clone()).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    let (resource, _) = submit(&app, &ada, json!({})).await;
    let (gone, _) = comment(&app, &grace, &resource, "Soon gone, @ada.", None).await;
    comment(&app, &bob, &resource, "Bob was here.", None).await;
    let (_, at) = comment(&app, &carol, &resource, "Carol too.", None).await;
    let expected = [
        ("comment", "carol"),
        ("comment", "bob"),
        ("comment", "grace"),
    ];
    assert_eq!(inbox(&app, &ada, at).await, pairs(&expected));

    // The deleted comment's notification goes.
    let deleted = app
        .delete(&format!("/v1/comments/{gone}"), &grace.token)
        .await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    let at = deleted.position();
    let expected = [("comment", "carol"), ("comment", "bob")];
    assert_eq!(inbox(&app, &ada, at).await, pairs(&expected));

    // So does a comment a moderator removed.
    let (removed, _) = comment(&app, &grace, &resource, "Buy my course, @ada!", None).await;
    let removal = app
        .post(
            &format!("/v1/comments/{removed}/remove"),
            &json!({"reason": "Advertising."}),
            Some(&moderator.token),
        )
        .await;
    assert_eq!(removal.status, 200, "{removal:#?}");
    let at = removal.position();
    let expected = [("comment", "carol"), ("comment", "bob")];
    assert_eq!(inbox(&app, &ada, at).await, pairs(&expected));

    // A suspended member's go, and their actions notify no one.
    let suspended = app
        .request(
            Method::PUT,
            "/v1/users/bob/suspension",
            Some(&json!({"reason": "Spamming comments."})),
            Some(&moderator.token),
            None,
        )
        .await;
    assert_eq!(suspended.status, 200, "{suspended:#?}");
    let at = suspended.position();
    assert_eq!(inbox(&app, &ada, at).await, pairs(&[("comment", "carol")]));

    // An erased member's go with their name.
    let erased = app.delete("/v1/me", &carol.token).await;
    assert_eq!(erased.status, 200, "{erased:#?}");
    let at = erased.position();
    assert_eq!(inbox(&app, &ada, at).await, pairs(&[]));
    app.wait_until_caught_up().await;
    let named: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notification_members WHERE username = 'carol'")
            .fetch_one(app.reads.pool())
            .await
            .unwrap();
    assert_eq!(named, 0);

    // A replay builds the same inbox.
    resourcify_testkit::assert_replay_changes_nothing(
        &app.store,
        &db,
        &[Projection::Notifications],
    )
    .await;
}

async fn ticket(app: &TestApp, who: &Registered) -> String {
    let issued = app
        .post(
            "/v1/me/notifications/stream-ticket",
            &json!({}),
            Some(&who.token),
        )
        .await;
    assert_eq!(issued.status, 201, "{issued:#?}");
    assert_eq!(issued.body["expires_in"], 60);
    issued.body["ticket"].as_str().unwrap().to_owned()
}

async fn open_stream(app: &TestApp, query: &str, last_event_id: Option<u64>) -> reqwest::Response {
    let mut request = app
        .http
        .get(app.url(&format!("/v1/me/notifications/stream{query}")));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    request.send().await.unwrap()
}

async fn stream(app: &TestApp, who: &Registered, last_event_id: Option<u64>) -> SseReader {
    let ticket = ticket(app, who).await;
    let response = open_stream(app, &format!("?ticket={ticket}"), last_event_id).await;
    SseReader::from_response(response).await
}

/// The next notification off `stream`: its SSE id and data.
async fn next(stream: &mut SseReader) -> (u64, Value) {
    let message = stream.next().await.unwrap();
    assert_eq!(message.event, "notification");
    (message.id.unwrap(), message.data)
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_stream_sends_ones_new_notifications_and_resumes_after_the_last_seen(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let (ada, grace, resource) = ada_grace_and_adas_resource(&app).await;
    comment(&app, &grace, &resource, "Before the stream.", None).await;
    app.wait_until_caught_up().await;

    let mut ada_stream = stream(&app, &ada, None).await;
    let mut grace_stream = stream(&app, &grace, None).await;
    let (first, position) = comment(&app, &grace, &resource, "Live.", None).await;
    let (id, data) = next(&mut ada_stream).await;
    assert_eq!(id, position);
    assert_eq!(data["kind"], "comment");
    assert_eq!(data["comment_id"], first.as_str());
    assert_eq!(data["actor_username"], "grace");
    // Only the ticket holder's own.
    grace_stream.assert_quiet().await;
    drop(ada_stream);

    // Missed while away, then sent on reconnecting, in order, once.
    let (_, second) = comment(&app, &grace, &resource, "Missed one.", None).await;
    let (_, third) = comment(&app, &grace, &resource, "Missed two.", None).await;
    let mut resumed = stream(&app, &ada, Some(position)).await;
    assert_eq!(next(&mut resumed).await.0, second);
    assert_eq!(next(&mut resumed).await.0, third);
    resumed.assert_quiet().await;
    let (_, fourth) = comment(&app, &grace, &resource, "Live again.", None).await;
    assert_eq!(next(&mut resumed).await.0, fourth);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_stream_opens_only_with_a_fresh_unused_ticket(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let refused = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 401, "{response:?}");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.starts_with("application/problem+json"), "{kind}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 401);
    };

    // Used once, then refused.
    let used = ticket(&app, &ada).await;
    let first = open_stream(&app, &format!("?ticket={used}"), None).await;
    assert_eq!(first.status(), 200);
    drop(first);
    refused(open_stream(&app, &format!("?ticket={used}"), None).await).await;
    // Never issued.
    refused(open_stream(&app, "?ticket=not-a-ticket", None).await).await;
    // The access token is no ticket, and does not open the stream in the URL.
    let token = &ada.token;
    refused(open_stream(&app, &format!("?ticket={token}"), None).await).await;
    let both = format!("?ticket=x&access_token={token}");
    refused(open_stream(&app, &both, None).await).await;
    // Expired: issued longer ago than a ticket lives (written as the
    // bucket holds a ticket, since a test does not wait a minute).
    let expired = "an-expired-ticket-of-adas";
    let key = hex::encode(Sha256::digest(expired.as_bytes()));
    let bucket = app.namespace.bucket("notification-stream-tickets");
    let kv = app.store.jetstream().get_key_value(bucket).await.unwrap();
    let value = json!({"user_id": ada.user_id, "issued_ms": 1_000});
    kv.create(key, serde_json::to_vec(&value).unwrap().into())
        .await
        .unwrap();
    refused(open_stream(&app, &format!("?ticket={expired}"), None).await).await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_ticket_from_one_node_opens_the_stream_on_another_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let (ada, grace, resource) = ada_grace_and_adas_resource(&app).await;
    let other = app.another_api_node().await;
    let ticket = ticket(&app, &ada).await;
    let url = format!(
        "{}/v1/me/notifications/stream?ticket={ticket}",
        other.base_url
    );
    let opened = app.http.get(&url).send().await.unwrap();
    let mut stream = SseReader::from_response(opened).await;
    let (_, position) = comment(&app, &grace, &resource, "Across nodes.", None).await;
    assert_eq!(next(&mut stream).await.0, position);
    // Taken on the other node: refused on either.
    let again = app.http.get(&url).send().await.unwrap();
    assert_eq!(again.status(), 401);
    let here = open_stream(&app, &format!("?ticket={ticket}"), None).await;
    assert_eq!(here.status(), 401);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_inbox_shows_the_history_written_before_it_existed(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // The projections of the previous release run; the inbox does not, as
    // on a deployment before this version.
    let older: Vec<Projection> = Projection::ALL
        .into_iter()
        .filter(|p| *p != Projection::Notifications)
        .collect();
    let (app, _older) = crate::sites::running_only(&db, &older).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let (resource, _) = submit(&app, &ada, json!({"description": "For @grace."})).await;
    app.put(&format!("/v1/resources/{resource}/vote"), &grace.token)
        .await;
    comment(&app, &grace, &resource, "Thanks, @ada.", None).await;
    let head = app.head().await;
    crate::sites::wait_for(&app, &older, head).await;
    // Reads are served meanwhile; the inbox has not started.
    let listed = app.get_at("/v1/resources", head).await;
    assert_eq!(listed.status, 200);
    let checkpoint: Option<i64> = sqlx::query_scalar(
        "SELECT position FROM projection_checkpoints WHERE projection = 'notifications'",
    )
    .fetch_optional(app.reads.pool())
    .await
    .unwrap();
    assert_eq!(checkpoint, None, "the inbox has not started");

    // The new projection starts from the first event.
    let _inbox = app.start_projector(Projection::Notifications, 100).await;
    assert_eq!(
        inbox(&app, &ada, head).await,
        pairs(&[("comment", "grace")])
    );
    assert_eq!(
        inbox(&app, &grace, head).await,
        pairs(&[("mention", "ada")])
    );
    resourcify_testkit::assert_replay_changes_nothing(
        &app.store,
        &db,
        &[Projection::Notifications],
    )
    .await;
}
