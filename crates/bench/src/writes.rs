//! The write path (`just bench`, last; `resourcify-bench writes` alone):
//! submissions, upvotes and comments over HTTP, beside two baselines run
//! in the same rounds:
//! - **the peer**: cqrs-es with postgres-es executing the same commands in
//!   process (`bench/peer`, a program of its own outside the workspace,
//!   built by `just bench`), with Postgres committing every command;
//! - **one raw JetStream append**: a plain handler that publishes one event
//!   with the same headers and waits for its acknowledgement, behind the
//!   same HTTP stack, no session check, no load, no checks.
//!
//! The projectors are stopped before the write runs: the figures are the
//! command path alone, as the peer's are. Every row also says what each
//! side waited for before it answered (its durability), how many NATS
//! requests the node sent per write, and the CPU that nats-server and
//! Postgres spent per write beside the server's own.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use async_nats::jetstream::{self, stream};
use poem::web::Data;
use poem::{EndpointExt, Route, handler, post};
use resourcify::RunningNode;
use resourcify_eventstore::EventStore;
use resourcify_testkit::load::Member;
use sqlx::PgPool;
use uuid::Uuid;

use crate::wrk::{self, Measurement};

/// Rounds of alternating runs: each round runs every write scenario and
/// each baseline once.
const ROUNDS: usize = 5;
const RUN: Duration = Duration::from_secs(3);
const CONNECTIONS: u32 = 32;
/// Members who vote, so that every upvote is a new (member, resource) pair.
const VOTERS: usize = 16;
/// Resources the upvotes and comments go to.
const TARGETS: usize = 20_000;

/// The write scenarios and their targets (issue #23).
const SUBMIT: &str = "POST /v1/resources";
const VOTE: &str = "PUT /v1/resources/{id}/vote";
const COMMENT: &str = "POST /v1/resources/{id}/comments";
/// Over HTTP, at least this many times the peer's in-process rate.
const PEER_RATIO: f64 = 2.0;
/// The 99th percentile latency at 32 connections, in milliseconds.
const P99_MS: f64 = 20.0;
/// Server CPU per write, at most this many times one raw append's.
const CPU_RATIO: f64 = 4.0;

/// What the node under test and its dataset offer the write runs.
pub struct Target<'a> {
    pub node: &'a RunningNode,
    pub author_token: &'a str,
    pub resources: &'a [Uuid],
    pub pool: PgPool,
}

/// One scenario's runs, the peer's runs of the same command, and the
/// counters read around each run.
struct Row {
    label: &'static str,
    peer_scenario: Option<&'static str>,
    runs: Vec<Measurement>,
    peer: Vec<Measurement>,
    nats_requests: Vec<f64>,
    nats_cpu_us: Vec<f64>,
    postgres_cpu_us: Vec<f64>,
}

impl Row {
    fn new(label: &'static str, peer_scenario: Option<&'static str>) -> Self {
        Self {
            label,
            peer_scenario,
            runs: Vec::new(),
            peer: Vec::new(),
            nats_requests: Vec::new(),
            nats_cpu_us: Vec::new(),
            postgres_cpu_us: Vec::new(),
        }
    }
}

/// Measures the write path of `target.node` (an API node), after which the
/// node has written what the runs sent.
pub async fn run(target: Target<'_>, projectors: Option<RunningNode>) -> anyhow::Result<()> {
    let base = format!("http://{}", target.node.addr.context("the API listens")?);
    let mut voters = Vec::new();
    for n in 0..VOTERS {
        voters.push(Member::register(&base, &format!("voter{n}")).await.token);
    }
    // The command path alone: nothing projects what the runs write.
    if let Some(projectors) = projectors {
        projectors.shut_down().await;
    }

    let durability = durability(&target.pool, &target.node.store).await?;
    let raw = RawAppends::serve(&target.node.store).await?;
    let mut peer = Peer::start()?;
    if peer.is_none() {
        println!("the peer is not built (just bench builds it: bench/peer); its rows stay empty");
    }
    let targets = &target.resources[..target.resources.len().min(TARGETS)];
    let dir = std::env::temp_dir();
    let script = |name: &str, text: String| -> anyhow::Result<std::path::PathBuf> {
        let path = dir.join(format!(
            "resourcify-bench-{}-{name}.lua",
            std::process::id()
        ));
        std::fs::write(&path, text)?;
        Ok(path)
    };
    let submit_script = script("submit", submit_script(target.author_token))?;
    let comment_script = script("comment", comment_script(target.author_token, targets))?;
    let raw_script = script("raw", raw_script())?;

    let mut rows = vec![
        Row::new(SUBMIT, Some("submit")),
        Row::new(VOTE, Some("vote")),
        Row::new(COMMENT, Some("comment")),
        Row::new("baseline: one raw JetStream append", None),
    ];
    let processes = Processes::find();
    for round in 0..ROUNDS {
        // Each round's upvotes go to resources no earlier round voted on.
        let vote_script = script("vote", vote_script(&voters, targets, round))?;
        for row in rows.iter_mut() {
            let (url, script) = match row.label {
                SUBMIT => (format!("{base}/v1/resources"), &submit_script),
                VOTE => (format!("{base}/v1/resources/"), &vote_script),
                COMMENT => (format!("{base}/v1/resources/"), &comment_script),
                _ => (format!("http://{}/append", raw.addr), &raw_script),
            };
            let sent_before = requests_sent(&target.node.store);
            let cpu_before = processes.cpu_seconds();
            let measured = wrk::run(&url, Some(script), CONNECTIONS, RUN)?;
            let (nats, postgres) = processes.cpu_seconds();
            let per_write = 1e6 / measured.requests;
            row.nats_cpu_us.push((nats - cpu_before.0) * per_write);
            row.postgres_cpu_us
                .push((postgres - cpu_before.1) * per_write);
            let sent = requests_sent(&target.node.store) - sent_before;
            row.nats_requests.push(sent as f64 / measured.requests);
            row.runs.push(measured);
            if let (Some(peer), Some(scenario)) = (peer.as_mut(), row.peer_scenario) {
                row.peer.push(peer.run(scenario, RUN, CONNECTIONS)?);
            }
        }
        let _ = std::fs::remove_file(&vote_script);
    }
    for path in [&submit_script, &comment_script, &raw_script] {
        let _ = std::fs::remove_file(path);
    }
    if let Some(peer) = peer {
        peer.finish()?;
    }
    raw.remove().await?;
    report(&rows, &durability);
    Ok(())
}

/// How many messages the node's NATS connection has sent: requests
/// (appends, reads of the log, key-value operations) and publishes.
fn requests_sent(store: &EventStore) -> u64 {
    store
        .jetstream()
        .client()
        .statistics()
        .out_messages
        .load(Ordering::Relaxed)
}

/// What each side waits for before it answers.
struct Durability {
    server: String,
    peer: String,
}

async fn durability(pool: &PgPool, store: &EventStore) -> anyhow::Result<Durability> {
    let setting = async |name: &str| -> anyhow::Result<String> {
        let value: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {name}")))
            .fetch_one(pool)
            .await?;
        Ok(value)
    };
    let fsync = setting("fsync").await?;
    let synchronous_commit = setting("synchronous_commit").await?;
    let version = store.jetstream().client().server_info().version;
    Ok(Durability {
        server: format!(
            "JetStream (nats-server {version}, file storage, {} replica): acknowledged once \
             the server has written the message to its file, not fsynced per message \
             (2.9's default sync_interval flushes to disk every 2 min)",
            store.replicas()
        ),
        peer: format!(
            "Postgres (fsync={fsync}, synchronous_commit={synchronous_commit}): each command's \
             commit returns once its WAL is flushed to disk"
        ),
    })
}

/// The CPU time of nats-server and of every Postgres process on this
/// machine, from /proc, for CPU per write beside the server's own.
struct Processes {
    nats: Vec<u32>,
}

impl Processes {
    fn find() -> Self {
        Self {
            nats: pids_named("nats-server"),
        }
    }

    /// (nats-server, Postgres) CPU seconds so far. Postgres backends come
    /// and go, so they are looked up each time; one that ended between two
    /// readings drops out of the second.
    fn cpu_seconds(&self) -> (f64, f64) {
        let sum = |pids: &[u32]| pids.iter().filter_map(|pid| cpu_of(*pid)).sum::<f64>();
        (sum(&self.nats), sum(&pids_named("postgres")))
    }
}

fn pids_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .collect()
}

fn cpu_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The raw-append baseline: `POST /append` publishes one event with the
/// headers the event store sets (CloudEvents attributes, message id,
/// expected last subject sequence) to a stream of its own, and answers
/// once JetStream acknowledged it.
struct RawAppends {
    addr: SocketAddr,
    js: jetstream::Context,
    stream: String,
}

#[derive(Clone)]
struct RawTarget {
    js: jetstream::Context,
    subject_prefix: String,
}

#[handler]
async fn raw_append(body: poem::Body, target: Data<&RawTarget>) -> poem::Result<String> {
    let payload = body.into_bytes().await?;
    let id = Uuid::now_v7();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", id.to_string().as_str());
    headers.insert("ce-source", "/resourcify");
    headers.insert("ce-type", "org.resourcify.bench.appended.v1");
    headers.insert("ce-time", chrono::Utc::now().to_rfc3339().as_str());
    headers.insert("ce-subject", format!("bench/{id}").as_str());
    headers.insert("content-type", "application/json");
    headers.insert("Nats-Msg-Id", id.to_string().as_str());
    let message = jetstream::message::PublishMessage::build()
        .payload(payload)
        .headers(headers)
        .expected_last_subject_sequence(0);
    let ack = target
        .js
        .send_publish(format!("{}.{id}", target.subject_prefix), message)
        .await
        .map_err(poem::error::InternalServerError)?
        .await
        .map_err(poem::error::InternalServerError)?;
    Ok(format!(r#"{{"position":{}}}"#, ack.sequence))
}

impl RawAppends {
    async fn serve(store: &EventStore) -> anyhow::Result<Self> {
        let js = store.jetstream().clone();
        let namespace = store.namespace().as_str();
        let stream = format!("{namespace}-bench-raw");
        let subject_prefix = format!("{namespace}.bench-raw");
        js.get_or_create_stream(stream::Config {
            name: stream.clone(),
            subjects: vec![format!("{subject_prefix}.>")],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            allow_direct: true,
            ..Default::default()
        })
        .await?;
        let routes = Route::new()
            .at("/append", post(raw_append))
            .data(RawTarget {
                js: js.clone(),
                subject_prefix,
            });
        let addr = crate::baselines::serve_on_loopback(routes).await?;
        Ok(Self { addr, js, stream })
    }

    async fn remove(self) -> anyhow::Result<()> {
        self.js.delete_stream(&self.stream).await?;
        Ok(())
    }
}

/// The peer program, driven one run at a time over its standard input.
struct Peer {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts the peer if it was built; `None` if it was not.
    fn start() -> anyhow::Result<Option<Self>> {
        let path = std::env::var("RESOURCIFY_BENCH_PEER")
            .unwrap_or_else(|_| "target/peer/release/resourcify-bench-peer".into());
        if !std::path::Path::new(&path).exists() {
            return Ok(None);
        }
        let database = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut child = Command::new(&path)
            .arg(database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {path}"))?;
        let input = child.stdin.take().context("the peer's input")?;
        let mut output = BufReader::new(child.stdout.take().context("the peer's output")?);
        let mut ready = String::new();
        output.read_line(&mut ready)?;
        if ready.trim() != "ready" {
            bail!("the peer did not start: {ready:?}");
        }
        Ok(Some(Self {
            child,
            input,
            output,
        }))
    }

    fn run(
        &mut self,
        scenario: &str,
        run: Duration,
        connections: u32,
    ) -> anyhow::Result<Measurement> {
        writeln!(self.input, "{scenario} {} {connections}", run.as_secs())?;
        self.input.flush()?;
        let mut line = String::new();
        self.output.read_line(&mut line)?;
        let fields: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .with_context(|| format!("the peer answered {line:?}"))?;
        let [
            requests,
            requests_per_second,
            p50_ms,
            p99_ms,
            cpu_us_per_request,
        ] = fields[..]
        else {
            bail!("the peer answered {line:?}");
        };
        Ok(Measurement {
            requests,
            requests_per_second,
            p50_ms,
            p99_ms,
            cpu_us_per_request,
        })
    }

    /// Ends the peer's input; it drops its database and exits.
    fn finish(mut self) -> anyhow::Result<()> {
        drop(self.input);
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the peer failed: {status}");
        }
        Ok(())
    }
}

/// Submits a new resource (a new URL) with every request.
pub(crate) fn submit_script(token: &str) -> String {
    format!(
        r#"math.randomseed(os.time())
local run = math.random(1, 1000000000)
local n = 0
request = function()
  n = n + 1
  local body = string.format('{{"title":"Benchmark submission %d","url":"https://bench.example.org/%d/%d","tags":["bench"],"kind":"article"}}', n, run, n)
  return wrk.format("POST", nil, {{["content-type"] = "application/json", ["authorization"] = "Bearer {token}"}}, body)
end
"#
    )
}

fn lua_list(items: impl Iterator<Item = String>) -> String {
    items
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(",")
}

/// Upvotes: request n is voter n mod VOTERS on resource n / VOTERS, from
/// where round `round` starts, so that no two requests are the same pair.
fn vote_script(voters: &[String], resources: &[Uuid], round: usize) -> String {
    let start = round * resources.len() / ROUNDS;
    format!(
        r#"local voters = {{{}}}
local ids = {{{}}}
local n = 0
request = function()
  local voter = voters[(n % #voters) + 1]
  local id = ids[(({start} + math.floor(n / #voters)) % #ids) + 1]
  n = n + 1
  return wrk.format("PUT", wrk.path .. id .. "/vote", {{["authorization"] = "Bearer " .. voter}}, nil)
end
"#,
        lua_list(voters.iter().cloned()),
        lua_list(resources.iter().map(Uuid::to_string)),
    )
}

/// A comment on one of `resources`, round robin.
fn comment_script(token: &str, resources: &[Uuid]) -> String {
    format!(
        r#"local ids = {{{}}}
local n = 0
request = function()
  n = n + 1
  local id = ids[(n % #ids) + 1]
  return wrk.format("POST", wrk.path .. id .. "/comments", {{["content-type"] = "application/json", ["authorization"] = "Bearer {token}"}}, '{{"body":"A comment from the benchmark."}}')
end
"#,
        lua_list(resources.iter().map(Uuid::to_string)),
    )
}

/// The body a submission carries, appended raw.
fn raw_script() -> String {
    r#"wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"resource_id":"0190f5a4-0000-7000-8000-000000000000","title":"Benchmark submission","url":"https://bench.example.org/raw","canonical_url":"https://bench.example.org/raw","description":"","tags":["bench"],"kind":"article"}'
"#
    .to_owned()
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The median over rounds of `pick(run) / pick(baseline)`, each pair from one round.
fn paired(runs: &[Measurement], baselines: &[Measurement], pick: fn(&Measurement) -> f64) -> f64 {
    let ratios: Vec<f64> = runs
        .iter()
        .zip(baselines)
        .map(|(run, base)| pick(run) / pick(base))
        .collect();
    median(&ratios)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
}

fn report(rows: &[Row], durability: &Durability) {
    let raw = &rows[3];
    println!();
    println!(
        "writes: {CONNECTIONS} connections, median of {ROUNDS} rounds of alternating {}s runs \
         (each round: every scenario, then the peer's run of the same command; the raw append)",
        RUN.as_secs()
    );
    println!("  server durability: {}", durability.server);
    println!("  peer durability:   {}", durability.peer);
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>11} {:>11} {:>11} {:>9}",
        "", "req/s", "p50 ms", "p99 ms", "CPU us/req", "NATS us/req", "PG us/req", "NATS req"
    );
    for row in rows {
        let m = wrk::median(&row.runs);
        println!(
            "{:<34} {:>8.0} {:>8.2} {:>8.2} {:>11.1} {:>11.1} {:>11.1} {:>9.2}",
            row.label,
            m.requests_per_second,
            m.p50_ms,
            m.p99_ms,
            m.cpu_us_per_request,
            median(&row.nats_cpu_us),
            median(&row.postgres_cpu_us),
            median(&row.nats_requests),
        );
        if !row.peer.is_empty() {
            let p = wrk::median(&row.peer);
            println!(
                "{:<34} {:>8.0} {:>8.2} {:>8.2} {:>11.1} {:>11} {:>11} {:>9}",
                "  peer (cqrs-es, in process)",
                p.requests_per_second,
                p.p50_ms,
                p.p99_ms,
                p.cpu_us_per_request,
                "",
                "",
                "",
            );
        }
    }
    println!();
    println!("write targets (each a ratio to a baseline of the same round):");
    let mut failed = Vec::new();
    for row in rows.iter().filter(|r| r.label == SUBMIT || r.label == VOTE) {
        let m = wrk::median(&row.runs);
        let mut line = |what: String, met: bool| {
            if !met {
                failed.push(format!("{}: {what}", row.label));
            }
            println!("  {:<34} {what:<58} {}", row.label, verdict(met));
        };
        if row.peer.is_empty() {
            line("x peer's rate: not measured (no peer)".into(), false);
        } else {
            let ratio = paired(&row.runs, &row.peer, |m| m.requests_per_second);
            line(
                format!("x peer's rate >= {PEER_RATIO:.1}: {ratio:.2}"),
                ratio >= PEER_RATIO,
            );
        }
        line(
            format!("p99 < {P99_MS:.0} ms: {:.2} ms", m.p99_ms),
            m.p99_ms < P99_MS,
        );
        let cpu = paired(&row.runs, &raw.runs, |m| m.cpu_us_per_request);
        line(
            format!("CPU/write x one raw append <= {CPU_RATIO:.1}: {cpu:.2}"),
            cpu <= CPU_RATIO,
        );
    }
    let comments = &rows[2];
    if !comments.peer.is_empty() {
        println!(
            "  {:<34} x peer's rate {:.2}, CPU x raw append {:.2} (no target)",
            comments.label,
            paired(&comments.runs, &comments.peer, |m| m.requests_per_second),
            paired(&comments.runs, &raw.runs, |m| m.cpu_us_per_request),
        );
    }
    println!();
    if failed.is_empty() {
        println!("every write target met");
    } else {
        println!("write targets not met: {}", failed.join("; "));
    }
}
