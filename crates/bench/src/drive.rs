//! `resourcify-bench drive …`: a load generator of its own process, so that
//! the bench can put it on another CPU than the server (as it does wrk).
//! Unlike wrk it sends at a fixed rate, whatever the answers take (an open
//! loop), and times each request from when it was due rather than from when
//! it was sent: a server that stalls shows the stall in every request that
//! waited behind it, not in one (no coordinated omission).
//!
//! - `drive read RATE FILE`: GETs the URLs of FILE (one a line) in turn;
//! - `drive submit RATE URL`: POSTs a new resource (a new URL each time) to
//!   URL with the bearer token of `RESOURCIFY_BENCH_TOKEN`.
//!
//! It runs until its standard input closes, then prints one line of JSON:
//! a [`DriveReport`].

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// What one drive sent and how long its answers took.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriveReport {
    pub sent: u64,
    /// Answers with a 2xx status.
    pub ok: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl DriveReport {
    pub fn failed(&self) -> u64 {
        self.sent - self.ok
    }

    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }
}

enum Load {
    Read { urls: Vec<String> },
    Submit { url: String, token: String },
}

impl Load {
    fn request(&self, client: &reqwest::Client, n: u64, run: u32) -> reqwest::RequestBuilder {
        match self {
            Self::Read { urls } => client.get(&urls[n as usize % urls.len()]),
            Self::Submit { url, token } => {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&serde_json::json!({
                        "title": format!("Submitted under load {n}"),
                        "url": format!("https://load.example.org/{run}/{n}"),
                        "tags": ["bench", format!("t{}", n % 50)],
                        "kind": "article",
                    }))
            }
        }
    }
}

/// `args` are what follows `drive` on the command line.
pub async fn run(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let kind = args.next().context("drive read|submit RATE …")?;
    let rate: u32 = args.next().context("a rate")?.parse()?;
    let target = args.next().context("a file of URLs or a URL")?;
    let load = match kind.as_str() {
        "read" => Load::Read {
            urls: std::fs::read_to_string(&target)?
                .lines()
                .map(str::to_owned)
                .collect(),
        },
        "submit" => Load::Submit {
            url: target,
            token: std::env::var("RESOURCIFY_BENCH_TOKEN").context("RESOURCIFY_BENCH_TOKEN")?,
        },
        other => bail!("unknown load {other}"),
    };
    let client = resourcify_testkit::load::http_client()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(256)
        .build()?;
    let stop = tokio::task::spawn_blocking(|| {
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
    });
    let report = drive(&client, &load, rate, stop).await;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

async fn drive(
    client: &reqwest::Client,
    load: &Load,
    rate: u32,
    mut stop: tokio::task::JoinHandle<()>,
) -> DriveReport {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let run = std::process::id();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut requests = tokio::task::JoinSet::new();
    let started = Instant::now();
    let mut n = 0u64;
    loop {
        let due = started + interval * u32::try_from(n).unwrap_or(u32::MAX);
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep_until(due.into()) => {}
        }
        let request = load.request(client, n, run);
        let latencies = latencies.clone();
        requests.spawn(async move {
            let ok = request
                .send()
                .await
                .is_ok_and(|answer| answer.status().is_success());
            latencies.lock().await.push((due.elapsed(), ok));
        });
        n += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    while requests.join_next().await.is_some() {}
    let answers = latencies.lock().await;
    let mut times: Vec<Duration> = answers
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(t, _)| *t)
        .collect();
    times.sort();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .map_or(f64::NAN, |t| t.as_secs_f64() * 1000.0)
    };
    DriveReport {
        sent: n,
        ok: times.len() as u64,
        seconds,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// A drive running in a child process; [`Drive::finish`] stops it and
/// reads its report.
pub struct Drive {
    child: std::process::Child,
}

impl Drive {
    /// Starts `resourcify-bench drive ARGS…` on CPU 0 where `taskset`
    /// exists (the bench runs the server on CPU 1), with `env` set.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let mut command = crate::wrk::on_cpu0(std::env::current_exe()?);
        command
            .arg("drive")
            .args(args)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        Ok(Self {
            child: command.spawn()?,
        })
    }

    pub fn finish(mut self) -> anyhow::Result<DriveReport> {
        drop(self.child.stdin.take());
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .context("the drive's output")?
            .read_to_string(&mut out)?;
        self.child.wait()?;
        serde_json::from_str(out.trim()).with_context(|| format!("a drive report, not {out:?}"))
    }
}

impl Drop for Drive {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
