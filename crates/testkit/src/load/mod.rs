//! A steady load of writes and reads for the fault suite, as clients of
//! the API would send it: submits, comments and votes, each with an
//! `Idempotency-Key` and retried with the same key until acknowledged, and
//! reads of lists and single resources. It keeps what was acknowledged, so
//! that a scenario can check, once the views have caught up, that every
//! acknowledged write is in them exactly once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::PASSWORD;

mod figures;

pub use figures::{LoadRun, ScenarioFigures};

/// How long a client waits for an answer before it gives up on a request.
pub const CLIENT_PATIENCE: Duration = Duration::from_secs(10);
/// Writes per second each writer sends, at most.
const WRITES_PER_WRITER_PER_SECOND: u64 = 20;
/// How long a write already begun keeps being retried once the load stops.
const FINISH_WITHIN: Duration = Duration::from_secs(90);

/// A client builder for talking to a node from a process that may run no
/// node itself: reqwest here is built without a TLS provider of its own
/// (the news fetcher picks one), and every client of the process needs one
/// installed first.
pub fn http_client() -> reqwest::ClientBuilder {
    resourcify_news::fetch::install_crypto_provider();
    reqwest::Client::builder()
}

/// A member who writes: registered over the API.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub token: String,
}

impl Member {
    /// Registers `username` at `base_url` and logs in once the users view
    /// shows the registration.
    pub async fn register(base_url: &str, username: &str) -> Member {
        let http = http_client().build().unwrap();
        // A successful answer's JSON; `what` says what failed otherwise.
        let answer = |request: reqwest::RequestBuilder, what: &'static str| async move {
            let sent = request.send().await.and_then(|r| r.error_for_status());
            sent.expect(what).json::<Value>().await.unwrap()
        };
        let signing_up = http.post(format!("{base_url}/v1/users")).json(&json!({
            "username": username,
            "email": format!("{username}@example.org"),
            "password": PASSWORD,
        }));
        let registered = answer(signing_up, "registration is accepted").await;
        let logging_in = http
            .post(format!("{base_url}/v1/sessions"))
            .header(
                "X-Resourcify-Min-Position",
                registered["position"].as_u64().unwrap(),
            )
            .json(&json!({"login": username, "password": PASSWORD}));
        let session = answer(logging_in, "the new member logs in").await;
        Member {
            user_id: registered["user_id"].as_str().unwrap().parse().unwrap(),
            token: session["access_token"].as_str().unwrap().to_owned(),
        }
    }
}

/// What the load sent and what was acknowledged.
#[derive(Debug, Default)]
struct Ledger {
    attempted: u64,
    /// Acknowledged submits: resource id, its URL and its author.
    submits: Vec<(Uuid, String, Uuid)>,
    /// Acknowledged comments: id and body (unique).
    comments: Vec<(Uuid, String)>,
    /// Acknowledged votes: resource and voter.
    votes: Vec<(Uuid, Uuid)>,
    acknowledged_at: Vec<Instant>,
    /// When writes were refused for now (503 or 429).
    refused_at: Vec<Instant>,
    /// Answers of 500 or any status but 2xx, 503 and 429: never expected.
    unexpected: Vec<String>,
    /// 503s without a `Retry-After`.
    unavailable_without_retry_after: u64,
    /// Requests that had no answer within the client's patience.
    hung: u64,
    reads: u64,
    reads_failed: u64,
}

/// A load running against one or more API nodes (taken in turn, as a load
/// balancer would), until [`SteadyLoad::stop`].
#[derive(Debug)]
pub struct SteadyLoad {
    ledger: Arc<Mutex<Ledger>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    started: Instant,
}

impl SteadyLoad {
    /// One writer per member and `readers` readers, against `base_urls`.
    pub fn start(base_urls: Vec<String>, members: Vec<Member>, readers: usize) -> Self {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = watch::Sender::new(false);
        let client = Client {
            http: http_client().timeout(CLIENT_PATIENCE).build().unwrap(),
            base_urls: Arc::new(base_urls),
            ledger: ledger.clone(),
        };
        let mut tasks = Vec::new();
        for (n, member) in members.into_iter().enumerate() {
            let writer = Writer {
                client: client.clone(),
                member,
                n,
            };
            tasks.push(tokio::spawn(writer.run(stop.subscribe())));
        }
        for n in 0..readers {
            tasks.push(tokio::spawn(client.clone().read(n, stop.subscribe())));
        }
        Self {
            ledger,
            stop,
            tasks,
            started: Instant::now(),
        }
    }

    /// Writes acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        self.ledger.lock().unwrap().acknowledged_at.len()
    }

    /// Resolves once `more` writes beyond those acknowledged now are.
    pub async fn until_acknowledged(&self, more: usize, within: Duration) {
        let target = self.acknowledged() + more;
        self.until(within, "writes acknowledged", |ledger| {
            ledger.acknowledged_at.len() >= target
        })
        .await;
    }

    /// Resolves once, from now on, writes have been acknowledged over a
    /// stretch of `span` (a part is away and writes go on regardless).
    pub async fn until_acknowledged_throughout(&self, span: Duration, within: Duration) {
        let since = Instant::now();
        self.until(within, "writes acknowledged throughout", |ledger| {
            stretch(&ledger.acknowledged_at, since) >= span
        })
        .await;
    }

    /// Resolves once, from now on, every write has been refused (503) over
    /// a stretch of `span` with none acknowledged (the log is away).
    pub async fn until_refused_throughout(&self, span: Duration, within: Duration) {
        let since = Instant::now();
        self.until(within, "writes refused throughout", |ledger| {
            let since = ledger
                .acknowledged_at
                .iter()
                .copied()
                .filter(|at| *at >= since)
                .max()
                .unwrap_or(since);
            stretch(&ledger.refused_at, since) >= span
        })
        .await;
    }

    /// Polls what the clients have seen until `condition` holds.
    async fn until(&self, within: Duration, what: &str, condition: impl Fn(&Ledger) -> bool) {
        let deadline = Instant::now() + within;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        while !condition(&self.ledger.lock().unwrap()) {
            assert!(Instant::now() < deadline, "{what}: not within {within:?}");
            tick.tick().await;
        }
    }

    /// Stops sending new writes and reads, finishes (acknowledges) the
    /// writes under way, and says what happened.
    pub async fn stop(self) -> LoadRun {
        let stopped_at = Instant::now();
        self.stop.send_replace(true);
        for task in self.tasks {
            task.await.expect("a load task panicked");
        }
        let ledger = Arc::try_unwrap(self.ledger)
            .expect("the tasks are done")
            .into_inner()
            .unwrap();
        LoadRun {
            ledger,
            started: self.started,
            stopped_at,
        }
    }
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base_urls: Arc<Vec<String>>,
    ledger: Arc<Mutex<Ledger>>,
}

/// How one attempt ended.
enum Attempt {
    Acknowledged(Value),
    /// Refused for now (503, 429, no connection): retry with the same key.
    Retry(Duration),
}

impl Client {
    fn url(&self, turn: usize, path: &str) -> String {
        format!("{}{path}", self.base_urls[turn % self.base_urls.len()])
    }

    async fn attempt(&self, request: reqwest::RequestBuilder, what: &str) -> Attempt {
        let sent = Instant::now();
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                Attempt::Acknowledged(response.json().await.unwrap_or(Value::Null))
            }
            Ok(response)
                if response.status() == StatusCode::SERVICE_UNAVAILABLE
                    || response.status() == StatusCode::TOO_MANY_REQUESTS =>
            {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let mut ledger = self.ledger.lock().unwrap();
                ledger.refused_at.push(Instant::now());
                if retry_after.is_none() {
                    ledger.unavailable_without_retry_after += 1;
                }
                // Sooner than asked: the suite measures the pause, not the hint.
                Attempt::Retry(Duration::from_millis(200))
            }
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                self.ledger
                    .lock()
                    .unwrap()
                    .unexpected
                    .push(format!("{what}: {status} {body}"));
                Attempt::Retry(Duration::from_millis(200))
            }
            Err(error) => {
                if error.is_timeout() || sent.elapsed() >= CLIENT_PATIENCE {
                    self.ledger.lock().unwrap().hung += 1;
                }
                // The node is gone (killed, restarting): the next one.
                Attempt::Retry(Duration::from_millis(50))
            }
        }
    }

    /// Sends `body` to `path` with one key until acknowledged; `None` if it
    /// never was within [`FINISH_WITHIN`] of the load stopping.
    async fn write(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: &str,
        stop: &watch::Receiver<bool>,
    ) -> Option<Value> {
        let key = Uuid::new_v4().to_string();
        let mut finish_by = None;
        for turn in 0.. {
            let mut request = self
                .http
                .request(method.clone(), self.url(turn, path))
                .bearer_auth(token)
                .header("Idempotency-Key", &key);
            if let Some(body) = &body {
                request = request.json(body);
            }
            match self.attempt(request, path).await {
                Attempt::Acknowledged(answer) => {
                    self.ledger
                        .lock()
                        .unwrap()
                        .acknowledged_at
                        .push(Instant::now());
                    return Some(answer);
                }
                // A client's back-off, not a wait for a condition.
                Attempt::Retry(pause) => tokio::time::sleep(pause).await,
            }
            if *stop.borrow() {
                let finish_by = *finish_by.get_or_insert_with(|| Instant::now() + FINISH_WITHIN);
                if Instant::now() > finish_by {
                    return None;
                }
            }
        }
        None
    }

    async fn read(self, n: usize, stop: watch::Receiver<bool>) {
        let mut pace = tokio::time::interval(Duration::from_millis(25));
        for turn in n.. {
            if *stop.borrow() {
                return;
            }
            pace.tick().await;
            let known = {
                let ledger = self.ledger.lock().unwrap();
                ledger
                    .submits
                    .get(turn % ledger.submits.len().max(1))
                    .map(|s| s.0)
            };
            let path = match known {
                Some(id) if turn % 2 == 0 => format!("/v1/resources/{id}"),
                _ => "/v1/resources?limit=10".to_owned(),
            };
            // A node that does not take the connection (killed) is skipped,
            // as a load balancer would; an answer, 503 too, is the answer.
            let mut answer = self.http.get(self.url(turn, &path)).send().await;
            if answer.as_ref().is_err_and(reqwest::Error::is_connect) {
                answer = self.http.get(self.url(turn + 1, &path)).send().await;
            }
            // A 404 is an answer: a resource just acknowledged may not be
            // in the views yet (this reader sends no position).
            let ok = answer.is_ok_and(|r| !r.status().is_server_error());
            let mut ledger = self.ledger.lock().unwrap();
            ledger.reads += 1;
            ledger.reads_failed += u64::from(!ok);
        }
    }
}

struct Writer {
    client: Client,
    member: Member,
    n: usize,
}

impl Writer {
    async fn run(self, stop: watch::Receiver<bool>) {
        let mut pace =
            tokio::time::interval(Duration::from_millis(1000 / WRITES_PER_WRITER_PER_SECOND));
        for turn in 0usize.. {
            if *stop.borrow() {
                return;
            }
            pace.tick().await;
            self.client.ledger.lock().unwrap().attempted += 1;
            // Someone else's resource, to vote on and comment on.
            let theirs = {
                let ledger = self.client.ledger.lock().unwrap();
                let others: Vec<Uuid> = ledger
                    .submits
                    .iter()
                    .filter(|s| s.2 != self.member.user_id)
                    .map(|s| s.0)
                    .collect();
                (!others.is_empty()).then(|| others[(turn * 7 + self.n) % others.len()])
            };
            match (turn % 4, theirs) {
                (2, Some(resource)) => self.comment(resource, &stop).await,
                (3, Some(resource)) => self.vote(resource, &stop).await,
                _ => self.submit(&stop).await,
            }
        }
    }

    async fn submit(&self, stop: &watch::Receiver<bool>) {
        let url = format!("https://example.org/fault-suite/{}", Uuid::now_v7());
        let body = json!({
            "url": url,
            "title": "Written under faults",
            "kind": "article",
            "tags": ["rust"],
        });
        let token = &self.member.token;
        let answer = self
            .client
            .write(
                reqwest::Method::POST,
                "/v1/resources",
                Some(body),
                token,
                stop,
            )
            .await;
        if let Some(id) = answer.as_ref().and_then(|a| a["id"].as_str()) {
            let id = id.parse().unwrap();
            let mut ledger = self.client.ledger.lock().unwrap();
            ledger.submits.push((id, url, self.member.user_id));
        }
    }

    async fn comment(&self, resource: Uuid, stop: &watch::Receiver<bool>) {
        let body = format!("Comment {}", Uuid::now_v7());
        let path = format!("/v1/resources/{resource}/comments");
        let token = &self.member.token;
        let payload = Some(json!({ "body": body }));
        let answer = self
            .client
            .write(reqwest::Method::POST, &path, payload, token, stop)
            .await;
        if let Some(id) = answer.as_ref().and_then(|a| a["id"].as_str()) {
            let id = id.parse().unwrap();
            self.client.ledger.lock().unwrap().comments.push((id, body));
        }
    }

    async fn vote(&self, resource: Uuid, stop: &watch::Receiver<bool>) {
        let path = format!("/v1/resources/{resource}/vote");
        let token = &self.member.token;
        let answer = self
            .client
            .write(reqwest::Method::PUT, &path, None, token, stop)
            .await;
        if answer.is_some() {
            let voter = self.member.user_id;
            self.client
                .ledger
                .lock()
                .unwrap()
                .votes
                .push((resource, voter));
        }
    }
}

/// How long the moments in `times` from `since` on span.
fn stretch(times: &[Instant], since: Instant) -> Duration {
    let mut after = times.iter().filter(|at| **at >= since);
    let Some(first) = after.next() else {
        return Duration::ZERO;
    };
    let last = after.max().unwrap_or(first);
    last.duration_since(*first)
}
