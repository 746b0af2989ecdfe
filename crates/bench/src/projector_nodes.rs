//! `just bench-projector-nodes`: what a second projector process gives.
//! Appends a log of `events` events, then lets one `resourcify serve --role
//! projector` process build the views from the first event into a fresh
//! database, then two such processes into another; prints the time each
//! took and their ratio. One node is active at a time (ADR 17), so the
//! second is expected to add availability, not speed.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::Context;
use resourcify_app::ViewPositions;
use resourcify_eventstore::{EventStore, EventStoreSettings};
use resourcify_projector::Projection;
use resourcify_readmodel::ReadModel;
use resourcify_testkit::NamespaceGuard;
use sqlx::postgres::PgConnectOptions;

/// A projector process, stopped with SIGTERM (it hands its lease back, so
/// the next run's nodes do not wait for it to expire) when dropped.
struct ProjectorNode(Child);

impl Drop for ProjectorNode {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn start_node(database: &PgConnectOptions, namespace: &str) -> anyhow::Result<ProjectorNode> {
    let binary = std::env::current_exe()?
        .parent()
        .context("the bench's directory")?
        .join("resourcify");
    let child = resourcify_testkit::projector_process(
        binary.to_str().context("a UTF-8 path")?,
        &resourcify_testkit::database_url(database),
        namespace,
    )
    .spawn()
    .context("`resourcify` is built beside the bench (cargo build --release)")?;
    Ok(ProjectorNode(child))
}

/// How long `nodes` projector processes take to build every view of the
/// log up to `head` into `database`.
async fn build_with(
    nodes: usize,
    database: &PgConnectOptions,
    namespace: &str,
    head: u64,
) -> anyhow::Result<Duration> {
    resourcify::migrate(database).await?;
    let pool = sqlx::PgPool::connect_with(database.clone()).await?;
    let positions = ViewPositions::new(ReadModel::new(pool.clone(), Duration::from_secs(5)));
    let started = Instant::now();
    let _nodes = (0..nodes)
        .map(|_| start_node(database, namespace))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for projection in Projection::ALL {
        positions
            .wait_for(projection, head, Duration::from_secs(1800))
            .await?;
    }
    let took = started.elapsed();
    pool.close().await;
    Ok(took)
}

pub async fn run(admin: &PgConnectOptions, db_name: &str, events: usize) -> anyhow::Result<()> {
    let guard = NamespaceGuard::new();
    let client = async_nats::connect(resourcify_testkit::nats_url()).await?;
    let store =
        EventStore::open(client, EventStoreSettings::new(guard.namespace().clone())).await?;
    println!("appending {events} events …");
    crate::projection::fill(&store, events).await?;
    let head = store.head().await?;
    let namespace = guard.namespace().as_str();
    let mut took = Vec::new();
    for nodes in [1, 2] {
        let database = admin.clone().database(&format!("{db_name}_nodes{nodes}"));
        took.push(build_with(nodes, &database, namespace, head).await?);
    }
    println!();
    println!(
        "{:<16} {:>10} {:>12}",
        "projector nodes", "seconds", "events/s"
    );
    for (nodes, took) in [1, 2].into_iter().zip(&took) {
        println!(
            "{nodes:<16} {:>10.1} {:>12.0}",
            took.as_secs_f64(),
            head as f64 / took.as_secs_f64()
        );
    }
    println!(
        "two nodes build at {:.2}× the rate of one (one is active, ADR 17)",
        took[0].as_secs_f64() / took[1].as_secs_f64()
    );
    Ok(())
}
