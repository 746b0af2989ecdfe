//! The peer `just bench` measures Resourcify's write path against: the same
//! three commands (submit a resource, upvote one, comment on one) executed
//! in process by cqrs-es over postgres-es, one event per command, with the
//! same checks: a submission claims its canonical URL first (a unique row,
//! as Resourcify claims a key-value key), and a vote or a comment loads the
//! resource it is about before its own aggregate decides.
//!
//! `resourcify-bench-peer DATABASE_URL` makes a scratch database on that
//! server, seeds resources, then reads commands from standard input, one a
//! line: `SCENARIO SECONDS CONNECTIONS`, SCENARIO one of `submit`, `vote`,
//! `comment`. For each it runs CONNECTIONS tasks for SECONDS and answers
//! one line: `SCENARIO COMMANDS PER_SECOND P50_MS P99_MS CPU_US_PER_COMMAND`.
//! At the end of its input it drops the scratch database.
//!
//! Durability: every command is one Postgres transaction (the URL claim a
//! second one), committed with the server's settings (`fsync` and
//! `synchronous_commit` on: a commit returns once its WAL is flushed).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, EventStore};
use postgres_es::{PostgresCqrs, PostgresEventRepository};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use uuid::Uuid;

const SEEDED: usize = 2_000;

/// Why a command was refused.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refuse<T>(why: &str) -> Result<T, Refused> {
    Err(Refused(why.to_owned()))
}

// ---- resource ----

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Resource {
    submitted: bool,
    author: Option<Uuid>,
    hidden: bool,
}

#[derive(Debug)]
enum ResourceCommand {
    Submit {
        author: Uuid,
        title: String,
        url: String,
        tags: Vec<String>,
        kind: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum ResourceEvent {
    Submitted {
        author: Uuid,
        title: String,
        url: String,
        tags: Vec<String>,
        kind: String,
    },
}

impl cqrs_es::DomainEvent for ResourceEvent {
    fn event_type(&self) -> String {
        "resource.submitted".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

impl Aggregate for Resource {
    const TYPE: &'static str = "resource";
    type Command = ResourceCommand;
    type Event = ResourceEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(
        &mut self,
        command: ResourceCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Refused> {
        let ResourceCommand::Submit {
            author,
            title,
            url,
            tags,
            kind,
        } = command;
        if self.submitted {
            return refuse("already submitted");
        }
        if title.trim().is_empty() || title.chars().count() > 200 {
            return refuse("title");
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return refuse("url");
        }
        if tags.len() > 5 {
            return refuse("tags");
        }
        let event = ResourceEvent::Submitted {
            author,
            title,
            url,
            tags,
            kind,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: ResourceEvent) {
        let ResourceEvent::Submitted { author, .. } = event;
        self.submitted = true;
        self.author = Some(author);
    }
}

// ---- vote ----

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Vote {
    up: bool,
}

#[derive(Debug)]
enum VoteCommand {
    Cast { voter: Uuid, resource: Resource },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum VoteEvent {
    Cast { voter: Uuid },
}

impl cqrs_es::DomainEvent for VoteEvent {
    fn event_type(&self) -> String {
        "vote.cast".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

impl Aggregate for Vote {
    const TYPE: &'static str = "vote";
    type Command = VoteCommand;
    type Event = VoteEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(
        &mut self,
        command: VoteCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Refused> {
        let VoteCommand::Cast { voter, resource } = command;
        if !resource.submitted || resource.hidden {
            return refuse("no such resource");
        }
        if resource.author == Some(voter) {
            return refuse("one's own resource");
        }
        if !self.up {
            sink.write(VoteEvent::Cast { voter }, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, _: VoteEvent) {
        self.up = true;
    }
}

// ---- comment ----

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Comment {
    posted: bool,
}

#[derive(Debug)]
enum CommentCommand {
    Post {
        author: Uuid,
        resource_id: Uuid,
        resource: Resource,
        body: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum CommentEvent {
    Posted {
        author: Uuid,
        resource_id: Uuid,
        body: String,
    },
}

impl cqrs_es::DomainEvent for CommentEvent {
    fn event_type(&self) -> String {
        "comment.posted".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

impl Aggregate for Comment {
    const TYPE: &'static str = "comment";
    type Command = CommentCommand;
    type Event = CommentEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(
        &mut self,
        command: CommentCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Refused> {
        let CommentCommand::Post {
            author,
            resource_id,
            resource,
            body,
        } = command;
        if self.posted {
            return refuse("already posted");
        }
        if !resource.submitted || resource.hidden {
            return refuse("no such resource");
        }
        if body.trim().is_empty() || body.chars().count() > 10_000 {
            return refuse("body");
        }
        let event = CommentEvent::Posted {
            author,
            resource_id,
            body,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, _: CommentEvent) {
        self.posted = true;
    }
}

// ---- the commands, as Resourcify's application layer runs them ----

struct Peer {
    pool: PgPool,
    resources: PostgresCqrs<Resource>,
    resource_store: PersistedEventStore<PostgresEventRepository, Resource>,
    votes: PostgresCqrs<Vote>,
    comments: PostgresCqrs<Comment>,
    seeded: Vec<Uuid>,
    counter: AtomicU64,
    run: u64,
}

fn framework<A: Aggregate<Services = ()>>(pool: &PgPool) -> PostgresCqrs<A> {
    let repository = PostgresEventRepository::new(pool.clone());
    CqrsFramework::new(PersistedEventStore::new_event_store(repository), vec![], ())
}

fn failed<E: std::error::Error>(error: AggregateError<E>) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

impl Peer {
    async fn submit(&self, author: Uuid) -> anyhow::Result<()> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let url = format!("https://peer.example.org/{}/{n}", self.run);
        let id = Uuid::new_v4();
        // The canonical URL is claimed before the event is written, as
        // Resourcify claims it with a key-value create.
        let key: String = Sha256::digest(url.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let claimed = sqlx::query(
            "INSERT INTO resource_urls (url_hash, resource_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&key)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        if claimed.rows_affected() == 0 {
            bail!("a duplicate URL");
        }
        let command = ResourceCommand::Submit {
            author,
            title: format!("Benchmark submission {n}"),
            url,
            tags: vec!["bench".into()],
            kind: "article".into(),
        };
        let result = self.resources.execute(&id.to_string(), command).await;
        if let Err(error) = result {
            sqlx::query("DELETE FROM resource_urls WHERE url_hash = $1 AND resource_id = $2")
                .bind(&key)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
            return Err(failed(error));
        }
        Ok(())
    }

    async fn resource(&self, id: Uuid) -> anyhow::Result<Resource> {
        let mut context = self
            .resource_store
            .load_aggregate(&id.to_string())
            .await
            .map_err(failed)?;
        Ok(cqrs_es::AggregateContext::aggregate(&mut context).clone())
    }

    fn pick(&self) -> Uuid {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) as usize;
        self.seeded[n % self.seeded.len()]
    }

    async fn vote(&self) -> anyhow::Result<()> {
        let resource_id = self.pick();
        let voter = Uuid::new_v4();
        let resource = self.resource(resource_id).await?;
        let vote_id = format!("{resource_id}:{voter}");
        self.votes
            .execute(&vote_id, VoteCommand::Cast { voter, resource })
            .await
            .map_err(failed)
    }

    async fn comment(&self, author: Uuid) -> anyhow::Result<()> {
        let resource_id = self.pick();
        let resource = self.resource(resource_id).await?;
        let command = CommentCommand::Post {
            author,
            resource_id,
            resource,
            body: "A comment from the benchmark.".into(),
        };
        self.comments
            .execute(&Uuid::new_v4().to_string(), command)
            .await
            .map_err(failed)
    }

    async fn once(&self, scenario: &str, member: Uuid) -> anyhow::Result<()> {
        match scenario {
            "submit" => self.submit(member).await,
            "vote" => self.vote().await,
            "comment" => self.comment(member).await,
            other => bail!("no scenario {other}"),
        }
    }
}

/// User and system CPU time of this process so far, in seconds.
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("a stat line")?
        .1
        .split_whitespace()
        .collect();
    Ok((fields[11].parse::<f64>()? + fields[12].parse::<f64>()?) / 100.0)
}

async fn measure(
    peer: &Arc<Peer>,
    scenario: &str,
    seconds: u64,
    connections: usize,
) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = cpu_seconds()?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let peer = peer.clone();
        let scenario = scenario.to_owned();
        tasks.push(tokio::spawn(async move {
            let member = Uuid::new_v4();
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let began = Instant::now();
                peer.once(&scenario, member).await?;
                latencies.push(began.elapsed().as_secs_f64() * 1e3);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()? - cpu_before;
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    let count = latencies.len() as f64;
    Ok(format!(
        "{scenario} {count} {:.1} {:.3} {:.3} {:.2}",
        count / elapsed,
        at(0.50),
        at(0.99),
        cpu * 1e6 / count
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let admin_url = std::env::args()
        .nth(1)
        .context("usage: resourcify-bench-peer DATABASE_URL")?;
    let name = format!("resourcify_peer_{}", std::process::id());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url)
        .await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let result = serve(&admin_url, &name).await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    result
}

fn database_url(admin_url: &str, name: &str) -> String {
    match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => format!("{admin_url}/{name}"),
    }
}

async fn serve(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(32)
        .connect(&database_url(admin_url, name))
        .await?;
    pool.execute(
        "CREATE TABLE events (
            aggregate_type text NOT NULL,
            aggregate_id text NOT NULL,
            sequence bigint CHECK (sequence >= 0) NOT NULL,
            event_type text NOT NULL,
            event_version text NOT NULL,
            payload json NOT NULL,
            metadata json NOT NULL,
            PRIMARY KEY (aggregate_type, aggregate_id, sequence));
         CREATE TABLE snapshots (
            aggregate_type text NOT NULL,
            aggregate_id text NOT NULL,
            last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
            current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
            payload json NOT NULL,
            PRIMARY KEY (aggregate_type, aggregate_id, last_sequence));
         CREATE TABLE resource_urls (url_hash text PRIMARY KEY, resource_id text NOT NULL);",
    )
    .await?;
    let mut peer = Peer {
        resources: framework(&pool),
        resource_store: PersistedEventStore::new_event_store(PostgresEventRepository::new(
            pool.clone(),
        )),
        votes: framework(&pool),
        comments: framework(&pool),
        pool,
        seeded: Vec::new(),
        counter: AtomicU64::new(0),
        run: u64::from(std::process::id()),
    };
    let author = Uuid::new_v4();
    let mut seeded = Vec::with_capacity(SEEDED);
    for n in 0..SEEDED {
        let id = Uuid::new_v4();
        let command = ResourceCommand::Submit {
            author,
            title: format!("Seeded {n}"),
            url: format!("https://seed.example.org/{n}"),
            tags: vec!["seed".into()],
            kind: "article".into(),
        };
        peer.resources
            .execute_with_metadata(&id.to_string(), command, HashMap::new())
            .await
            .map_err(failed)?;
        seeded.push(id);
    }
    peer.seeded = seeded;
    let peer = Arc::new(peer);

    let mut stdout = tokio::io::stdout();
    stdout.write_all(b"ready\n").await?;
    stdout.flush().await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [scenario, seconds, connections] = words[..] else {
            bail!("expected SCENARIO SECONDS CONNECTIONS, got {line:?}");
        };
        let answer = measure(&peer, scenario, seconds.parse()?, connections.parse()?).await?;
        stdout.write_all(format!("{answer}\n").as_bytes()).await?;
        stdout.flush().await?;
    }
    Ok(())
}
