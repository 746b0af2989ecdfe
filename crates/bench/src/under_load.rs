//! `resourcify-bench under-load [EVENTS]` (issue #23, points 4 and 5), over
//! a log of EVENTS events (1,000,000 by default) whose views are built:
//!
//! 1. **Reads isolated from writes and rebuilds.** Warm reads (a cached
//!    resource) and uncached ones (a node without a cache, 1,000 resources
//!    in turn) at fixed rates, each in a process of its own on the other
//!    CPU: idle; while submissions arrive at 1,000/s; while `resourcify
//!    replay --all` rebuilds every view as an operator would run it. Each
//!    p99 is a ratio to the idle one of the same run.
//! 2. **Projection keeps up.** Submissions as fast as the node takes them
//!    (wrk, 32 connections) for a minute, while the lag of the slowest
//!    projection is sampled: every 100 ms the head of the log is noted, and
//!    the time until every projection has passed it is one sample. Then
//!    the time from the load's end until the views are complete.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use resourcify::{Roles, RunningNode};
use resourcify_projector::Projection;
use resourcify_readmodel::ReadModel;
use resourcify_testkit::NamespaceGuard;
use resourcify_testkit::load::Member;
use sqlx::postgres::PgConnectOptions;

use crate::drive::{Drive, DriveReport};
use crate::{Variant, base_url};

const WARM_READS_PER_SECOND: &str = "400";
const UNCACHED_READS_PER_SECOND: &str = "200";
const WRITES_PER_SECOND: &str = "1000";
const READ_PHASE: Duration = Duration::from_secs(10);
/// Each p99 under load, at most this many times the idle one.
const P99_RATIO: f64 = 1.5;
const SUSTAINED: Duration = Duration::from_secs(60);
/// The lag's p99 and the time to complete views after the load, at most.
const LAG_P99: Duration = Duration::from_secs(1);
const COMPLETE_WITHIN: Duration = Duration::from_secs(2);

pub async fn run(
    database: &PgConnectOptions,
    guard: &NamespaceGuard,
    events: usize,
) -> anyhow::Result<()> {
    let projectors = crate::start(database, guard, Roles::PROJECTOR_ONLY, Variant::Full).await?;
    let full = crate::start(database, guard, Roles::API_ONLY, Variant::Full).await?;
    let uncached = crate::start(database, guard, Roles::API_ONLY, Variant::Uncached).await?;
    let writer = Member::register(&base_url(&full), "loadwriter").await;

    println!("appending {events} events …");
    crate::projection::fill(&projectors.store, events).await?;
    let pool = resourcify_readmodel::connect(database.clone(), &Default::default()).await?;
    let views = Views {
        reads: ReadModel::new(pool.clone(), Duration::from_secs(5)),
        node: &projectors,
    };
    let built = Instant::now();
    views.until_complete().await?;
    println!(
        "views of {events} events built by the live projectors in {:.1} s",
        built.elapsed().as_secs_f64()
    );

    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM resources ORDER BY listed_at DESC LIMIT 1000")
            .fetch_all(&pool)
            .await?;
    let scratch = std::env::temp_dir();
    let url_file = |name: &str, base: &str, ids: &[uuid::Uuid]| -> anyhow::Result<String> {
        let path = scratch.join(format!("resourcify-bench-{}-{name}", std::process::id()));
        let urls: Vec<String> = ids
            .iter()
            .map(|id| format!("{base}/v1/resources/{id}"))
            .collect();
        std::fs::write(&path, urls.join("\n"))?;
        Ok(path.to_str().context("a UTF-8 path")?.to_owned())
    };
    let readers = Readers {
        warm: url_file("warm", &base_url(&full), &ids[..20])?,
        uncached: url_file("uncached", &base_url(&uncached), &ids)?,
    };
    // Warm the cache of the first node.
    readers.measure(Duration::from_secs(2)).await?;

    let idle = readers.measure(READ_PHASE).await?;
    let token = writer.token.clone();
    let submit_url = format!("{}/v1/resources", base_url(&full));
    let writes = Drive::start(
        &["submit", WRITES_PER_SECOND, &submit_url],
        &[("RESOURCIFY_BENCH_TOKEN", &token)],
    )?;
    let under_writes = readers.measure(READ_PHASE).await?;
    let written = writes.finish()?;
    views.until_complete().await?;

    let replay = Replay::start(database, guard, &[])?;
    let (under_replay, replay_took) = readers.measure_while(replay).await?;
    // The same at full speed, for the same run's comparison (no target:
    // `--full-speed` is for a rebuild with no traffic).
    let replay = Replay::start(database, guard, &["--full-speed"])?;
    let (under_fast_replay, fast_replay_took) = readers.measure_while(replay).await?;
    for file in [&readers.warm, &readers.uncached] {
        let _ = std::fs::remove_file(file);
    }

    println!();
    println!(
        "reads at fixed rates ({WARM_READS_PER_SECOND}/s warm, {UNCACHED_READS_PER_SECOND}/s \
         uncached), each from its own process; latency from when a request was due"
    );
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>9}  target",
        "", "sent", "failed", "p50 ms", "p99 ms"
    );
    let mut failed = Vec::new();
    let mut row = |label: &str, report: &DriveReport, idle: Option<&DriveReport>| {
        let verdict = idle.map_or(String::new(), |idle| {
            let ratio = report.p99_ms / idle.p99_ms;
            let met = ratio <= P99_RATIO && report.failed() == 0;
            if !met {
                failed.push(label.to_owned());
            }
            format!(
                "p99 <= {P99_RATIO} x idle: {ratio:.2} {}",
                if met { "met" } else { "NOT MET" }
            )
        });
        println!(
            "{label:<36} {:>9} {:>9} {:>9.2} {:>9.2}  {verdict}",
            report.sent,
            report.failed(),
            report.p50_ms,
            report.p99_ms
        );
    };
    row("warm, idle", &idle.warm, None);
    row("uncached, idle", &idle.uncached, None);
    row("warm, under writes", &under_writes.warm, Some(&idle.warm));
    row(
        "uncached, under writes",
        &under_writes.uncached,
        Some(&idle.uncached),
    );
    row(
        "warm, under replay --all",
        &under_replay.warm,
        Some(&idle.warm),
    );
    row(
        "uncached, under replay --all",
        &under_replay.uncached,
        Some(&idle.uncached),
    );
    row(
        "warm, under replay --full-speed",
        &under_fast_replay.warm,
        None,
    );
    row(
        "uncached, under replay --full-speed",
        &under_fast_replay.uncached,
        None,
    );
    println!(
        "writes: {} sent at {WRITES_PER_SECOND}/s, {} failed, {:.0}/s acknowledged, p99 {:.1} ms; \
         replay --all of {events} events at its default pace took {:.1} s, \
         at full speed {:.1} s",
        written.sent,
        written.failed(),
        written.rate(),
        written.p99_ms,
        replay_took.as_secs_f64(),
        fast_replay_took.as_secs_f64()
    );

    let keeping_up = keep_up(&views, &full, &token).await?;
    println!();
    println!("{keeping_up}");
    failed.extend(keeping_up.missed());
    println!();
    if failed.is_empty() {
        println!("every target met");
    } else {
        println!("targets not met: {}", failed.join("; "));
    }
    Ok(())
}

/// The two read loads, run together.
struct Readers {
    warm: String,
    uncached: String,
}

struct ReadFigures {
    warm: DriveReport,
    uncached: DriveReport,
}

impl Readers {
    fn start(&self) -> anyhow::Result<(Drive, Drive)> {
        Ok((
            Drive::start(&["read", WARM_READS_PER_SECOND, &self.warm], &[])?,
            Drive::start(&["read", UNCACHED_READS_PER_SECOND, &self.uncached], &[])?,
        ))
    }

    async fn measure(&self, span: Duration) -> anyhow::Result<ReadFigures> {
        let (warm, uncached) = self.start()?;
        tokio::time::sleep(span).await;
        Ok(ReadFigures {
            warm: warm.finish()?,
            uncached: uncached.finish()?,
        })
    }

    /// Reads while `replay` runs; answers how long it took.
    async fn measure_while(&self, mut replay: Replay) -> anyhow::Result<(ReadFigures, Duration)> {
        let (warm, uncached) = self.start()?;
        let took = replay.finish().await?;
        Ok((
            ReadFigures {
                warm: warm.finish()?,
                uncached: uncached.finish()?,
            },
            took,
        ))
    }
}

/// `resourcify replay --all` as an operator runs it, in its own process.
struct Replay {
    child: std::process::Child,
    started: Instant,
}

impl Replay {
    /// `pace`: the replay's options beyond `--all` (`--full-speed`).
    fn start(
        database: &PgConnectOptions,
        guard: &NamespaceGuard,
        pace: &[&str],
    ) -> anyhow::Result<Self> {
        let binary = std::env::current_exe()?
            .parent()
            .context("the bench's directory")?
            .join("resourcify");
        let child = Command::new(binary)
            .args(["replay", "--all"])
            .args(pace)
            .env("DATABASE_URL", resourcify_testkit::database_url(database))
            .env("NATS_URL", resourcify_testkit::nats_url())
            .env("RESOURCIFY_NAMESPACE", guard.namespace().as_str())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("`resourcify` is built beside the bench (cargo build --release)")?;
        Ok(Self {
            child,
            started: Instant::now(),
        })
    }

    async fn finish(&mut self) -> anyhow::Result<Duration> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::ensure!(status.success(), "resourcify replay --all failed: {status}");
                return Ok(self.started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the views are, against the log the node appends to.
struct Views<'a> {
    reads: ReadModel,
    node: &'a RunningNode,
}

impl Views<'_> {
    /// The position every projection has applied.
    async fn slowest(&self) -> anyhow::Result<u64> {
        let mut slowest = u64::MAX;
        for projection in Projection::ALL {
            slowest = slowest.min(self.reads.projection_checkpoint(projection.name()).await?);
        }
        Ok(slowest)
    }

    /// Waits until every projection has applied the log's head.
    async fn until_complete(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let head = self.node.store.head().await?;
        while self.slowest().await? < head {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(started.elapsed())
    }
}

/// Point 5's figures.
struct KeepingUp {
    written: crate::wrk::Measurement,
    lag_p50: Duration,
    lag_p99: Duration,
    lag_max: Duration,
    samples: usize,
    complete_after: Duration,
}

impl KeepingUp {
    fn missed(&self) -> Vec<String> {
        let mut missed = Vec::new();
        if self.lag_p99 > LAG_P99 {
            missed.push("projection lag p99 under load".to_owned());
        }
        if self.complete_after > COMPLETE_WITHIN {
            missed.push("views complete after the load".to_owned());
        }
        missed
    }
}

impl std::fmt::Display for KeepingUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = |met: bool| if met { "met" } else { "NOT MET" };
        writeln!(
            f,
            "submissions as fast as accepted for {} s (wrk, 32 connections): {:.0}/s, p99 {:.1} ms",
            SUSTAINED.as_secs(),
            self.written.requests_per_second,
            self.written.p99_ms
        )?;
        writeln!(
            f,
            "projection lag (slowest projection, {} samples): p50 {} ms, p99 {} ms, max {} ms \
             (target p99 < {} ms): {}",
            self.samples,
            self.lag_p50.as_millis(),
            self.lag_p99.as_millis(),
            self.lag_max.as_millis(),
            LAG_P99.as_millis(),
            verdict(self.lag_p99 <= LAG_P99)
        )?;
        write!(
            f,
            "views complete {} ms after the load stopped (target < {} ms): {}",
            self.complete_after.as_millis(),
            COMPLETE_WITHIN.as_millis(),
            verdict(self.complete_after <= COMPLETE_WITHIN)
        )
    }
}

/// Sustains the highest write rate for [`SUSTAINED`] while sampling the lag.
async fn keep_up(views: &Views<'_>, node: &RunningNode, token: &str) -> anyhow::Result<KeepingUp> {
    let script = std::env::temp_dir().join(format!(
        "resourcify-bench-{}-keep-up.lua",
        std::process::id()
    ));
    std::fs::write(&script, crate::writes::submit_script(token))?;
    let url = format!("{}/v1/resources", base_url(node));
    let wrk_script = script.clone();
    let load = tokio::task::spawn_blocking(move || {
        crate::wrk::run(&url, Some(&wrk_script), 32, SUSTAINED)
    });
    let mut pending: std::collections::VecDeque<(Instant, u64)> = Default::default();
    let mut lags = Vec::new();
    let mut next_sample = Instant::now();
    while !load.is_finished() {
        if Instant::now() >= next_sample {
            pending.push_back((Instant::now(), views.node.store.head().await?));
            next_sample += Duration::from_millis(100);
        }
        let slowest = views.slowest().await?;
        while pending.front().is_some_and(|(_, head)| *head <= slowest) {
            let (noted, _) = pending.pop_front().expect("a sample");
            lags.push(noted.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let written = load.await??;
    let _ = std::fs::remove_file(&script);
    let complete_after = views.until_complete().await?;
    // Samples still pending when the load stopped waited at least this long.
    lags.extend(pending.iter().map(|(noted, _)| noted.elapsed()));
    lags.sort();
    let at = |q: f64| lags[((lags.len() as f64 * q) as usize).min(lags.len() - 1)];
    Ok(KeepingUp {
        written,
        lag_p50: at(0.5),
        lag_p99: at(0.99),
        lag_max: *lags.last().context("lag samples")?,
        samples: lags.len(),
        complete_after,
    })
}
