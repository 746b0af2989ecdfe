//! `just soak [MINUTES]`: one node, `resourcify serve` as a process of its
//! own (the release binary beside this one), under mixed load for a while
//! (10 minutes by default), its resident memory sampled every 10 s. It
//! passes when the mean of the last minute's samples is within 10 % of the
//! second minute's (the first is warm-up: pools, caches filling to their
//! steady size); it exits non-zero otherwise.
//!
//! The load is what members do, paced to a steady rate: reads of single
//! resources across the whole, growing, set of them (every submission adds
//! one), lists by tag and order, the front page, searches, tags, comment
//! threads; submissions, comments, votes, follows, logins, sign-ups;
//! change streams opened and dropped; and a scrape of `/metrics` with each
//! sample, as Prometheus would. What grows with the data rather than with
//! the load shows here.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use resourcify_testkit::NamespaceGuard;
use resourcify_testkit::engines::free_port;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;

/// How often the node's memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Requests per second, over all workers: steady, and well within what
/// the node serves on 2 cores, so that memory is measured, not overload.
const RATE: f64 = 300.0;
const WORKERS: usize = 16;
/// Members signed up before the load starts (more sign up during it).
const MEMBERS: usize = 40;
/// Tags resources are spread over, and lists asked for.
const TAGS: u64 = 200;
/// The last minute may differ from the second by this much.
const TOLERANCE: f64 = 0.10;

/// `resourcify serve` as a child process, killed when dropped.
struct NodeProcess {
    child: Child,
    base: String,
    metrics: String,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeProcess {
    fn start(
        database: &PgConnectOptions,
        guard: &NamespaceGuard,
        lasts: Duration,
    ) -> anyhow::Result<Self> {
        let binary = std::env::current_exe()?.with_file_name("resourcify");
        anyhow::ensure!(
            binary.exists(),
            "{} is missing: build it beside the bench (`cargo build --release -p resourcify`; `just soak` does)",
            binary.display()
        );
        let (port, metrics_port) = (free_port(), free_port());
        let unlimited = "1000000/s";
        let mut command = Command::new(&binary);
        command
            .args(["serve", "--no-migrate"])
            .env("DATABASE_URL", resourcify_testkit::database_url(database))
            .env("NATS_URL", resourcify_testkit::nats_url())
            .env("RESOURCIFY_NAMESPACE", guard.namespace().as_str())
            .env("RESOURCIFY_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "RESOURCIFY_METRICS_LISTEN",
                format!("127.0.0.1:{metrics_port}"),
            )
            .env(
                "RESOURCIFY_JWT_SECRET",
                uuid::Uuid::new_v4().to_string().repeat(2),
            )
            // Tokens outlive the run: a refresh is not what is measured.
            .env(
                "RESOURCIFY_TOKEN_TTL_SECS",
                (lasts.as_secs() + 600).to_string(),
            )
            .env("RESOURCIFY_MAX_WAITING_READS", "10000")
            // Every stream comes from one address here.
            .env("RESOURCIFY_MAX_STREAMS_PER_CLIENT", "10000")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null());
        // Every budget out of reach: the limiters still keep state per
        // client, which is part of what is measured.
        resourcify_testkit::set_every_rate_budget(&mut command, unlimited);
        let child = command.spawn().context("starting resourcify serve")?;
        Ok(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `/readyz` says 200 (a minute at most).
    async fn until_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("resourcify serve exited at start: {status}");
            }
            let ready = http.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the node was not ready within a minute"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Resident memory of process `pid`, in KiB.
fn resident_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading the node's /proc status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .context("no VmRSS in /proc status")
}

/// A member the load acts as.
#[derive(Clone)]
struct Member {
    username: String,
    token: String,
}

/// What the workers share: the growing sets they pick from, and counts.
struct Load {
    base: String,
    http: reqwest::Client,
    resources: RwLock<Vec<String>>,
    members: RwLock<Vec<Member>>,
    requests: AtomicU64,
    /// Answers by status (0: no answer at all).
    statuses: Mutex<BTreeMap<u16, u64>>,
    signups: AtomicU64,
}

/// A small, fast pseudo-random sequence per worker (xorshift64*): the
/// load needs spread, not quality.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % below.max(1)
    }
}

impl Load {
    fn count(&self, status: u16) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        *self
            .statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(status)
            .or_default() += 1;
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Option<Value> {
        match request.send().await {
            Ok(response) => {
                self.count(response.status().as_u16());
                response.json().await.ok()
            }
            Err(_) => {
                self.count(0);
                None
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn pick_resource(&self, dice: &mut Dice) -> Option<String> {
        let resources = self.resources.read().unwrap_or_else(|p| p.into_inner());
        let n = resources.len() as u64;
        (n > 0).then(|| resources[dice.roll(n) as usize].clone())
    }

    fn pick_member(&self, dice: &mut Dice) -> Member {
        let members = self.members.read().unwrap_or_else(|p| p.into_inner());
        members[dice.roll(members.len() as u64) as usize].clone()
    }

    /// Signs a member up and logs them in.
    async fn sign_up(&self, username: String) -> Option<Member> {
        let signed_up = self
            .send(self.http.post(self.url("/v1/users")).json(&json!({
                "username": username,
                "email": format!("{username}@soak.example.org"),
                "password": "a soak test password",
            })))
            .await?;
        let position = signed_up["position"].as_u64()?;
        let session = self
            .send(
                self.http
                    .post(self.url("/v1/sessions"))
                    .header("X-Resourcify-Min-Position", position)
                    .json(&json!({"login": username, "password": "a soak test password"})),
            )
            .await?;
        Some(Member {
            username,
            token: session["access_token"].as_str()?.to_owned(),
        })
    }

    /// One request (or two, for a sign-up) of the mix.
    async fn act(self: &Arc<Self>, dice: &mut Dice, worker: usize) {
        let member = self.pick_member(dice);
        let tag = format!("t{}", dice.roll(TAGS));
        let resource = self.pick_resource(dice);
        let http = &self.http;
        match dice.roll(100) {
            0..38 => {
                let Some(id) = resource else { return };
                self.send(http.get(self.url(&format!("/v1/resources/{id}"))))
                    .await;
            }
            38..46 => {
                let sort = if dice.roll(2) == 0 { "new" } else { "top" };
                let path = format!("/v1/resources?limit=20&tag={tag}&sort={sort}");
                self.send(http.get(self.url(&path))).await;
            }
            46..51 => {
                self.send(http.get(self.url("/v1/feed"))).await;
            }
            51..56 => {
                let path = format!("/v1/search?q=soak%20{}", dice.roll(500));
                self.send(http.get(self.url(&path))).await;
            }
            56..59 => {
                self.send(http.get(self.url("/v1/tags"))).await;
            }
            59..64 => {
                let Some(id) = resource else { return };
                let path = format!("/v1/resources/{id}/comments");
                self.send(http.get(self.url(&path))).await;
            }
            64..74 => {
                let n = dice.roll(u64::MAX >> 1);
                let submitted = self
                    .send(
                        http.post(self.url("/v1/resources"))
                            .bearer_auth(&member.token)
                            .header("Idempotency-Key", format!("soak-{worker}-{n}"))
                            .json(&json!({
                                "title": format!("Soak resource {n}"),
                                "url": format!("https://soak.example.org/{worker}/{n}"),
                                "description": "Written by the soak, read many times.",
                                "tags": [tag, "soak"],
                                "kind": "article",
                            })),
                    )
                    .await;
                if let Some(id) = submitted.as_ref().and_then(|s| s["id"].as_str()) {
                    self.resources
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(id.to_owned());
                }
            }
            74..79 => {
                let Some(id) = resource else { return };
                let path = format!("/v1/resources/{id}/comments");
                let body = json!({"body": format!("A soak comment, {}", dice.roll(1_000_000))});
                self.send(
                    http.post(self.url(&path))
                        .bearer_auth(&member.token)
                        .json(&body),
                )
                .await;
            }
            79..84 => {
                let Some(id) = resource else { return };
                let path = format!("/v1/resources/{id}/vote");
                self.send(http.put(self.url(&path)).bearer_auth(&member.token))
                    .await;
            }
            84..89 => {
                self.send(http.get(self.url("/v1/me")).bearer_auth(&member.token))
                    .await;
            }
            89..92 => {
                let path = format!("/v1/me/followed-tags/{tag}");
                self.send(http.put(self.url(&path)).bearer_auth(&member.token))
                    .await;
            }
            92..94 => {
                self.send(http.post(self.url("/v1/sessions")).json(&json!({
                    "login": member.username,
                    "password": "a soak test password",
                })))
                .await;
            }
            94..96 => {
                let n = self.signups.fetch_add(1, Ordering::Relaxed);
                if let Some(member) = self.sign_up(format!("soak{n}")).await {
                    self.members
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(member);
                }
            }
            // Beside the worker, which would otherwise fall behind its pace.
            _ => {
                let load = self.clone();
                tokio::spawn(async move { load.glance_at_stream().await });
            }
        }
    }

    /// Opens the change stream, reads what comes within a second, and
    /// leaves, as a client that navigates away.
    async fn glance_at_stream(&self) {
        let Ok(mut response) = self
            .http
            .get(self.url("/v1/streams/resources"))
            .send()
            .await
        else {
            self.count(0);
            return;
        };
        self.count(response.status().as_u16());
        let until = tokio::time::Instant::now() + Duration::from_secs(1);
        while let Ok(Ok(Some(_))) = tokio::time::timeout_at(until, response.chunk()).await {}
    }
}

/// One row of the report.
struct Sample {
    at: Duration,
    rss_kib: u64,
    requests: u64,
    resources: usize,
    members: usize,
}

pub async fn run(
    database: &PgConnectOptions,
    guard: &NamespaceGuard,
    minutes: u64,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        minutes >= 3,
        "a soak compares the second minute with the last: 3 minutes at least"
    );
    let lasts = Duration::from_secs(minutes * 60);
    // The node runs elsewhere; this process's HTTP client needs the TLS
    // provider a node would have installed.
    resourcify_news::fetch::install_crypto_provider();
    let mut node = NodeProcess::start(database, guard, lasts)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    node.until_ready(&http).await?;
    let load = Arc::new(Load {
        base: node.base.clone(),
        http: http.clone(),
        resources: RwLock::default(),
        members: RwLock::default(),
        requests: AtomicU64::new(0),
        statuses: Mutex::default(),
        signups: AtomicU64::new(0),
    });
    for i in 0..MEMBERS {
        let member = load
            .sign_up(format!("member{i}"))
            .await
            .context("signing the first members up")?;
        load.members
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(member);
    }
    println!(
        "soak: resourcify serve (pid {}) for {minutes} min, {RATE:.0} requests/s from {WORKERS} workers, \
         memory sampled every {} s",
        node.pid(),
        SAMPLE_EVERY.as_secs()
    );
    println!(
        "{:>6} {:>9} {:>10} {:>7} {:>10} {:>8}",
        "time", "RSS MiB", "requests", "req/s", "resources", "members"
    );

    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + lasts;
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let load = load.clone();
        workers.push(tokio::spawn(async move {
            let seed = 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(worker as u64 + 1);
            let mut dice = Dice(seed | 1);
            let mut pace = tokio::time::interval(Duration::from_secs_f64(WORKERS as f64 / RATE));
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while tokio::time::Instant::now() < deadline {
                pace.tick().await;
                load.act(&mut dice, worker).await;
            }
        }));
    }

    let mut samples: Vec<Sample> = Vec::new();
    let mut sampling =
        tokio::time::interval_at(tokio::time::Instant::now() + SAMPLE_EVERY, SAMPLE_EVERY);
    let mut previous = 0;
    while samples.len() < (lasts.as_secs() / SAMPLE_EVERY.as_secs()) as usize {
        sampling.tick().await;
        if let Some(status) = node.child.try_wait()? {
            bail!("resourcify serve exited during the soak: {status}");
        }
        // As Prometheus would scrape it.
        let _ = http
            .get(&node.metrics)
            .send()
            .await
            .and_then(|r| r.error_for_status());
        let sample = Sample {
            at: started.elapsed(),
            rss_kib: resident_kib(node.pid())?,
            requests: load.requests.load(Ordering::Relaxed),
            resources: load
                .resources
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .len(),
            members: load.members.read().unwrap_or_else(|p| p.into_inner()).len(),
        };
        let rate = (sample.requests - previous) as f64 / SAMPLE_EVERY.as_secs_f64();
        previous = sample.requests;
        let secs = sample.at.as_secs();
        println!(
            "{:>3}:{:02} {:>9.1} {:>10} {:>7.0} {:>10} {:>8}",
            secs / 60,
            secs % 60,
            sample.rss_kib as f64 / 1024.0,
            sample.requests,
            rate,
            sample.resources,
            sample.members
        );
        samples.push(sample);
    }
    for worker in workers {
        let _ = worker.await;
    }
    drop(node);
    report(&samples, &load, lasts)
}

/// The verdict: the last minute's mean RSS against the second minute's.
fn report(samples: &[Sample], load: &Load, lasts: Duration) -> anyhow::Result<()> {
    let mean_between = |from: Duration, to: Duration| {
        let within: Vec<f64> = samples
            .iter()
            .filter(|s| s.at > from && s.at <= to + SAMPLE_EVERY / 2)
            .map(|s| s.rss_kib as f64 / 1024.0)
            .collect();
        within.iter().sum::<f64>() / within.len().max(1) as f64
    };
    let minute = Duration::from_secs(60);
    let second = mean_between(minute + SAMPLE_EVERY / 2, 2 * minute);
    let last = mean_between(lasts - minute + SAMPLE_EVERY / 2, lasts);
    let change = last / second - 1.0;
    let statuses = load.statuses.lock().unwrap_or_else(|p| p.into_inner());
    let total: u64 = statuses.values().sum();
    let failed: u64 = statuses
        .iter()
        .filter(|(status, _)| **status == 0 || **status >= 500)
        .map(|(_, n)| n)
        .sum();
    println!();
    println!(
        "answers by status: {}",
        statuses
            .iter()
            .map(|(status, n)| match status {
                0 => format!("no answer {n}"),
                _ => format!("{status} {n}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "RSS: second minute {second:.1} MiB, last minute {last:.1} MiB ({:+.1} %; within {:.0} % passes)",
        change * 100.0,
        TOLERANCE * 100.0
    );
    if failed * 100 > total {
        bail!(
            "FAIL: {failed} of {total} requests failed (5xx or no answer): the load was not served"
        );
    }
    if change.abs() > TOLERANCE {
        bail!(
            "FAIL: memory moved {:+.1} % between the second and the last minute",
            change * 100.0
        );
    }
    println!("PASS");
    Ok(())
}
