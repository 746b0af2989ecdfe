//! `just bench-streams`: 1,000 Server-Sent Events clients on loopback, one
//! node, a burst of 1,000 resource changes; reports how long each change
//! took from its append to each client (p50, p99) and the memory of this
//! process, which holds the server and the 1,000 clients alike.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use resourcify::{NodeSettings, Roles};
use resourcify_testkit::{NamespaceGuard, SyntheticHistory};
use sqlx::postgres::PgConnectOptions;
use tokio::sync::Mutex;
use uuid::Uuid;

const CLIENTS: usize = 1_000;
const CHANGES: usize = 1_000;

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

pub async fn run(mut settings: NodeSettings, _database: &PgConnectOptions) -> anyhow::Result<()> {
    let guard = NamespaceGuard::new();
    settings.namespace = guard.namespace().clone();
    settings.roles = Roles::ALL;
    settings.api.max_streams_per_client = CLIENTS + 1;
    settings.app.stream_buffer = CHANGES * 2;
    let node = resourcify::start(settings).await?;
    let base = format!("http://{}", node.addr.expect("the API listens"));
    let author = Uuid::now_v7();
    let before = resident_kib();

    // Every client reads its stream and notes when each change arrived.
    let arrivals: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let response = http
            .get(format!("{base}/v1/streams/resources"))
            .send()
            .await?
            .error_for_status()?;
        let arrivals = arrivals.clone();
        clients.push(tokio::spawn(async move {
            let mut response = response;
            let mut buffer = String::new();
            let mut seen = Vec::with_capacity(CHANGES);
            while seen.len() < CHANGES {
                let Ok(Some(chunk)) = response.chunk().await else {
                    break;
                };
                let now = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let id = block
                        .lines()
                        .find_map(|l| l.strip_prefix("id:"))
                        .and_then(|id| id.trim().parse::<u64>().ok());
                    if let Some(id) = id {
                        seen.push((id, now));
                    }
                }
            }
            arrivals.lock().await.extend(seen);
        }));
    }
    let connected = resident_kib();

    // The burst, appended straight to the log, each append timed.
    let history = SyntheticHistory {
        tags: |_| vec!["stream".into()],
        ..SyntheticHistory::new(0, CHANGES, 0, "stream")
    };
    let mut appended_at: HashMap<u64, Instant> = HashMap::new();
    for i in 0..CHANGES {
        let id = Uuid::now_v7();
        let new = history.submission(i, id, author);
        let sent = Instant::now();
        let appended = node.store.append("resource", id, 0, new).await?;
        appended_at.insert(appended.position, sent);
    }
    let finished =
        tokio::time::timeout(Duration::from_secs(120), futures::future::join_all(clients)).await;
    let peak = resident_kib();
    anyhow::ensure!(
        finished.is_ok(),
        "clients did not receive every change within 120 s"
    );

    let arrivals = arrivals.lock().await;
    let mut latencies: Vec<f64> = arrivals
        .iter()
        .filter_map(|(id, at)| Some(at.duration_since(*appended_at.get(id)?).as_secs_f64() * 1e3))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    println!(
        "{CLIENTS} SSE clients, a burst of {CHANGES} changes: {} deliveries",
        latencies.len()
    );
    println!(
        "delivery latency (append to client): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pick(0.5),
        pick(0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
    println!(
        "server memory (this process, RSS): {} MiB before, {} MiB with the clients connected, {} MiB after the burst",
        before / 1024,
        connected / 1024,
        peak / 1024
    );
    Ok(())
}
