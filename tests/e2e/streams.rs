//! Server-Sent Events: live changes, resume with `Last-Event-ID` without
//! gap or duplicate, filters, nothing hidden, bounded streams.

use std::time::Duration;

use reqwest::Method;
use resourcify::NodeSettings;
use resourcify_testkit::engines::NatsServer;
use resourcify_testkit::{TestApp, spawn_app, spawn_app_configured};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sse {
    pub(crate) id: Option<u64>,
    pub(crate) event: String,
    pub(crate) data: Value,
}

/// Reads events off a streaming response.
pub(crate) struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    async fn open(app: &TestApp, query: &str, last_event_id: Option<u64>) -> Self {
        let mut request = app
            .http
            .get(app.url(&format!("/v1/streams/resources{query}")));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        Self::from_response(request.send().await.unwrap()).await
    }

    /// Reads the events of an opened stream (any of them), past the
    /// reconnection advice it starts with.
    pub(crate) async fn from_response(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200, "{response:?}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut reader = Self {
            response,
            buffer: String::new(),
        };
        // The first thing said is how long to wait before reconnecting.
        let advice = reader.next_block().await.unwrap();
        assert!(advice.starts_with("retry:"), "{advice}");
        reader
    }

    async fn next_block(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let block = block.trim().to_owned();
                // Keep-alive comments carry nothing.
                if block.is_empty() || block.starts_with(':') {
                    continue;
                }
                return Some(block);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    pub(crate) async fn next(&mut self) -> Option<Sse> {
        let block = self.next_block().await?;
        let mut event = Sse {
            id: None,
            event: String::new(),
            data: Value::Null,
        };
        for line in block.lines() {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.trim_start();
            match field {
                "id" => event.id = value.parse().ok(),
                "event" => event.event = value.to_owned(),
                "data" => event.data = serde_json::from_str(value).unwrap(),
                _ => {}
            }
        }
        Some(event)
    }

    /// Asserts that nothing more arrives for a moment.
    pub(crate) async fn assert_quiet(&mut self) {
        let more = tokio::time::timeout(Duration::from_millis(700), self.next_block()).await;
        assert!(more.is_err(), "unexpected event: {more:?}");
    }
}

async fn submit(app: &TestApp, token: &str, fields: Value) -> String {
    let submitted = app.submit(token, fields).await;
    assert_eq!(submitted.status, 201, "{submitted:#?}");
    submitted.id()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_client_resumes_after_a_disconnect_without_gap_or_duplicate(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;

    let mut stream = SseReader::open(&app, "", None).await;
    let first = submit(&app, &ada.token, json!({"title": "The first one"})).await;
    let submitted = stream.next().await.unwrap();
    assert_eq!(submitted.event, "resource.submitted");
    assert_eq!(submitted.data["resource"]["title"], "The first one");
    assert_eq!(submitted.data["resource_id"], first.as_str());
    app.put(&format!("/v1/resources/{first}/vote"), &grace.token)
        .await;
    let voted = stream.next().await.unwrap();
    assert_eq!(voted.event, "resource.voted");
    assert_eq!(voted.data["resource"]["votes"], 1);
    assert!(voted.id > submitted.id);
    let last_seen = voted.id.unwrap();
    drop(stream);

    // Missed while away.
    let second = submit(&app, &ada.token, json!({"title": "The second one"})).await;
    app.patch(
        &format!("/v1/resources/{first}"),
        &json!({"title": "First, edited"}),
        &ada.token,
    )
    .await;

    let mut stream = SseReader::open(&app, "", Some(last_seen)).await;
    let missed_submission = stream.next().await.unwrap();
    assert_eq!(missed_submission.event, "resource.submitted");
    assert_eq!(missed_submission.data["resource_id"], second.as_str());
    let missed_edit = stream.next().await.unwrap();
    assert_eq!(missed_edit.event, "resource.edited");
    assert_eq!(missed_edit.data["resource"]["title"], "First, edited");
    assert!(missed_submission.id.unwrap() > last_seen);
    assert!(missed_edit.id > missed_submission.id);
    // Then live ones, and nothing twice.
    let third = submit(&app, &ada.token, json!({})).await;
    let live = stream.next().await.unwrap();
    assert_eq!(live.data["resource_id"], third.as_str());
    assert!(live.id > missed_edit.id);
    stream.assert_quiet().await;

    // `?after=` does the same as the header.
    let mut again = SseReader::open(&app, &format!("?after={last_seen}"), None).await;
    assert_eq!(again.next().await.unwrap().id, missed_submission.id);
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn filters_apply_and_hidden_resources_say_nothing(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;

    let mut rust = SseReader::open(&app, "?tag=rust&tag=c%2B%2B", None).await;
    let mut by_ada = SseReader::open(&app, "?author=ada", None).await;
    submit(&app, &ada.token, json!({"tags": ["go"]})).await;
    let rusty = submit(&app, &ada.token, json!({"tags": ["rust"]})).await;
    let change = rust.next().await.unwrap();
    assert_eq!(
        change.data["resource_id"],
        rusty.as_str(),
        "the go one is filtered out"
    );
    assert_eq!(by_ada.next().await.unwrap().event, "resource.submitted");
    assert_eq!(
        by_ada.next().await.unwrap().data["resource_id"],
        rusty.as_str()
    );

    let hide = |action: &'static str| {
        app.request(
            Method::POST,
            &format!("/v1/resources/{rusty}/{action}"),
            Some(&json!({"reason": "Checking visibility."})),
            Some(&moderator.token),
            None,
        )
    };
    assert_eq!(hide("hide").await.status, 200);
    let hidden = rust.next().await.unwrap();
    assert_eq!(hidden.event, "resource.hidden");
    assert_eq!(
        hidden.data["resource"],
        Value::Null,
        "nothing of it is shown"
    );
    // A vote on it while hidden reaches no one.
    assert_eq!(
        app.put(&format!("/v1/resources/{rusty}/vote"), &moderator.token)
            .await
            .status,
        200
    );
    rust.assert_quiet().await;
    assert_eq!(hide("restore").await.status, 200);
    let restored = rust.next().await.unwrap();
    assert_eq!(restored.event, "resource.restored");
    assert_eq!(restored.data["resource"]["votes"], 1);

    let unknown = app.get("/v1/streams/resources?author=nobody").await;
    unknown.assert_problem(404);
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn streams_are_bounded_and_an_unknown_position_asks_for_a_resync_with_an_id_to_resume_from(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s| s.api.max_streams_per_client = 1).await;
    let ada = app.register("ada").await;
    let mut open = SseReader::open(&app, "", Some(1_000_000)).await;
    // The reconnection delay is said again, then the resync with its id.
    let advice = open.next_block().await.unwrap();
    assert_eq!(advice, "retry: 3000");
    let resync = open.next().await.unwrap();
    assert_eq!(resync.event, "resync");
    // An EventSource reconnects with the last id it saw: the resync's own,
    // the head of the log, so it resumes instead of looping on a resync.
    let from = resync.id.expect("a resync carries an id");
    assert_eq!(resync.data["position"], from);
    // The stream goes on with the changes after it.
    let submitted = app
        .submit(
            &ada.token,
            json!({"title": "After the resync", "tags": ["rust"]}),
        )
        .await;
    assert_eq!(submitted.status, 201);
    let next = open.next().await.unwrap();
    assert_eq!(next.event, "resource.submitted");
    assert_eq!(next.data["resource_id"], submitted.body["id"]);
    assert!(next.id.unwrap() > from);

    // The open stream holds the client's only slot.
    let refused = app.get("/v1/streams/resources").await;
    refused.assert_problem(429);
    assert!(refused.header("retry-after").is_some());
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_client_that_goes_away_frees_its_stream_slot_within_seconds(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s| s.api.max_streams_per_client = 1).await;
    // Answered 200: the slot is taken before the stream begins.
    let gone = SseReader::open(&app, "", None).await;
    // Its only slot is taken while it listens.
    app.get("/v1/streams/resources").await.assert_problem(429);
    let left_at = std::time::Instant::now();
    drop(gone);
    // A client of its own connection, so that nothing is pooled.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(250));
    let status = loop {
        ticks.tick().await;
        let response = fresh
            .get(app.url("/v1/streams/resources"))
            .send()
            .await
            .unwrap();
        if response.status() != 429 || left_at.elapsed().as_secs() >= 15 {
            break response.status();
        }
    };
    assert_eq!(
        status,
        200,
        "the slot was still held after {:?}",
        left_at.elapsed()
    );
    assert!(
        left_at.elapsed().as_secs() < 10,
        "freed after {:?}",
        left_at.elapsed()
    );
    app.shut_down().await;
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_subscriber_that_falls_behind_is_cut_off_while_others_keep_receiving(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use futures::StreamExt;
    use resourcify_app::ChangeNotice;

    let app = spawn_app_configured(db, |s| s.app.stream_buffer = 8).await;
    let ada = app.register("ada").await;
    let node = app.node.app.clone().expect("the API role runs");
    // Subscribed, but never reading while the changes come.
    let mut slow = node.changes.subscribe(None).await.unwrap();
    let mut fast = SseReader::open(&app, "", None).await;
    let mut submitted = Vec::new();
    for i in 0..20 {
        submitted.push(submit(&app, &ada.token, json!({"title": format!("Change {i}")})).await);
        // The client that keeps up sees every change.
        let change = fast.next().await.unwrap();
        assert_eq!(change.data["resource_id"], submitted[i].as_str());
    }
    // The slow one gets what its buffer held, then the notice, then nothing.
    let mut notices = Vec::new();
    while let Some(notice) = slow.next().await {
        notices.push(notice);
    }
    assert!(
        matches!(notices.last(), Some(ChangeNotice::TooSlow)),
        "{notices:?}"
    );
    assert!(
        notices.len() <= 8 + 1,
        "at most its buffer: {}",
        notices.len()
    );
    app.shut_down().await;
}

/// Over HTTP: a client that stops reading (its socket backs up) is cut off
/// with a final `too-slow` event once it falls a buffer behind, while a
/// client that reads gets everything.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_client_that_stops_reading_is_told_so_and_cut_off(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use resourcify_testkit::SyntheticHistory;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // Enough to fill the kernel's socket buffers (up to 4 MiB for sending here)
    // several times over: about 8 MB of messages.
    const CHANGES: usize = 3_000;
    let app = spawn_app_configured(db, |s| s.app.stream_buffer = 512).await;
    let mut reader = SseReader::open(&app, "", None).await;

    // A client with a tiny receive window that sends its request and then
    // reads nothing.
    let addr: std::net::SocketAddr = app.base_url.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /v1/streams/resources HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();

    let store = app.store.clone();
    let appends = tokio::spawn(async move {
        // Long descriptions, so that the changes fill the socket's buffers.
        let history = SyntheticHistory {
            description: Box::leak("x".repeat(2_000).into_boxed_str()),
            tags: |_| vec!["slow".into()],
            ..SyntheticHistory::new(0, CHANGES, 0, "slow")
        };
        let author = uuid::Uuid::now_v7();
        for i in 0..CHANGES {
            let id = uuid::Uuid::now_v7();
            let new = history.submission(i, id, author);
            store.append("resource", id, 0, new).await.unwrap();
        }
    });
    // The client that reads while the changes come gets every one of them.
    for _ in 0..CHANGES {
        assert_eq!(reader.next().await.unwrap().event, "resource.submitted");
    }
    appends.await.unwrap();

    // The stalled one, reading at last, finds fewer changes, then the notice,
    // then the end of the stream.
    let mut received = Vec::new();
    let mut chunk = [0u8; 65536];
    while let Ok(read) =
        tokio::time::timeout(Duration::from_secs(3), stalled.read(&mut chunk)).await
    {
        let read = read.unwrap();
        received.extend_from_slice(&chunk[..read]);
        if read == 0 || received.ends_with(b"0\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&received);
    let changes = text.matches("event: resource.submitted").count();
    assert!(
        text.contains("event: too-slow"),
        "no too-slow notice after {changes} changes ({} bytes)",
        received.len()
    );
    assert!(received.ends_with(b"0\r\n\r\n"), "the stream did not end");
    assert!(changes < CHANGES, "it was not cut off: {changes}");
    app.shut_down().await;
}

/// A node shutting down (SIGTERM) takes no new work: `/readyz` fails at
/// once, naming why, and each open stream ends with the reconnection delay,
/// so the client comes back, to another node, where it left.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_draining_node_says_not_ready_and_ends_its_streams_with_a_retry(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let mut reader = SseReader::open(&app, "", None).await;
    let node_app = app.node.app.as_ref().expect("the API role runs");
    assert_eq!(app.get("/readyz").await.status, 200);

    node_app.status.begin_draining();
    let last = reader.next_block().await.expect("a last word");
    assert!(last.starts_with("retry:"), "{last}");
    assert_eq!(reader.next_block().await, None, "the stream ended");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 503, "{ready:#?}");
    assert_eq!(
        ready.body["checks"]["draining"][0]["status"], "fail",
        "{ready:#?}"
    );
}

/// An open stream lives through a NATS restart: changes written once NATS is
/// back arrive on it within the usual wait (its follower opens the log
/// again at once, not after the feed's missed heartbeats or a long pause).
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn an_open_stream_goes_on_after_nats_restarts(_: PgPoolOptions, db: PgConnectOptions) {
    let mut nats = NatsServer::start();
    let url = nats.url();
    let app = spawn_app_configured(db, |s: &mut NodeSettings| s.nats_url = url).await;
    let ada = app.register("ada").await;
    let mut stream = SseReader::open(&app, "", None).await;
    for round in 0..3 {
        nats.stop();
        let connection =
            |up| tokio::time::timeout(Duration::from_secs(30), app.store.until_connected(up));
        connection(false).await.expect("the node sees NATS go");
        nats.run();
        // Written as soon as the node is connected again.
        connection(true).await.expect("the node reconnects");
        let written = app
            .submit(
                &ada.token,
                json!({"title": format!("After restart {round}")}),
            )
            .await;
        assert_eq!(written.status, 201, "{written:#?}");
        let id = written.id();
        let arrived = stream.next().await.expect("the stream goes on");
        assert_eq!(arrived.event, "resource.submitted", "{arrived:?}");
        assert_eq!(arrived.data["resource_id"], id.as_str());
    }
}
