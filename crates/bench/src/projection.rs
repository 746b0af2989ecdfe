//! `just bench-projection`: how fast the projections build their views.
//! Appends a log of `events` events (users, resources, votes); lets the
//! live projectors (as `resourcify serve` runs them) project it from the
//! first event; then replays every projection beside their tables, as
//! `resourcify replay --all` does. Prints events per second for each.
//!
//! Last, as a baseline, the live projectors project the same log again into
//! a database of their own with the derived rows (lists, vote and tag
//! counts) deferred: the ratio of the two live rates is what keeping the
//! lists costs (ADR 13).

use std::time::{Duration, Instant};

use resourcify_eventstore::{EventStore, EventStoreSettings};
use resourcify_projector::{
    Projection, ProjectorSettings, Projectors, ReplayPace, ReplaySettings, replay_all,
};
use resourcify_readmodel::projections::Upkeep;
use resourcify_readmodel::{PoolSettings, ReadModel};
use resourcify_testkit::{NamespaceGuard, SyntheticHistory};
use sqlx::postgres::PgConnectOptions;

const USERS: usize = 1_000;

/// 1,000 users; then of the rest, seven in ten are submissions and three
/// in ten are votes on them. Answers the append rate.
pub(crate) async fn fill(store: &EventStore, events: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let resources = (events - USERS) * 7 / 10;
    let history = SyntheticHistory {
        description: "A resource among very many.",
        tags: |i| vec![format!("t{}", i % 200), "bench".into()],
        concurrency: 512,
        ..SyntheticHistory::new(USERS, resources, events - USERS - resources, "projection")
    };
    history.append(store).await?;
    Ok(events as f64 / started.elapsed().as_secs_f64())
}

/// A log of `events` in a namespace of its own (gone with the guard).
pub(crate) async fn filled_log(
    events: usize,
) -> anyhow::Result<(NamespaceGuard, async_nats::Client, EventStore)> {
    let guard = NamespaceGuard::new();
    let client = async_nats::connect(resourcify_testkit::nats_url()).await?;
    let store = EventStore::open(
        client.clone(),
        EventStoreSettings::new(guard.namespace().clone()),
    )
    .await?;
    println!("appending {events} events …");
    let append_rate = fill(&store, events).await?;
    println!("appended at {append_rate:.0} events/s");
    Ok((guard, client, store))
}

/// Measures in `database`, and the baseline in `baseline` (both migrated).
pub async fn run(
    database: &PgConnectOptions,
    baseline: &PgConnectOptions,
    events: usize,
) -> anyhow::Result<()> {
    let (_guard, client, store) = filled_log(events).await?;

    let live_rate = project_live(
        &store,
        client.clone(),
        database,
        events as u64,
        Upkeep::Incremental,
    )
    .await?;

    // The bulk-load target's baseline: only reading the log and decoding
    // it, with the replay's batch size, no projection.
    // The bulk load is measured at full speed: nothing else runs.
    let settings = ReplaySettings {
        pace: ReplayPace::FullSpeed,
        ..ReplaySettings::default()
    };
    let decode_rate = read_and_decode(&store, events as u64, settings.batch_size).await?;
    println!("baseline: the log read and decoded at {decode_rate:.0} events/s");

    let started = Instant::now();
    // As `resourcify replay --all` runs them.
    let reports = replay_all(&store, database, &Projection::ALL, &settings, |_| {}).await?;
    println!();
    println!(
        "{:<10} {:>10} {:>10} {:>12}",
        "projection", "events", "seconds", "events/s"
    );
    for report in reports {
        println!(
            "{:<10} {:>10} {:>10.1} {:>12.0}",
            report.projection.name(),
            report.events,
            report.elapsed.as_secs_f64(),
            report.rate()
        );
    }
    let total = started.elapsed();
    println!(
        "{:<10} {:>10} {:>10.1} {:>12.0}",
        "all",
        events,
        total.as_secs_f64(),
        events as f64 / total.as_secs_f64()
    );
    println!();
    let verdict = |met: bool| if met { "met" } else { "NOT MET" };
    let rate = events as f64 / total.as_secs_f64();
    println!(
        "live projectors: {live_rate:.0} events/s (target: at least 20,000): {}",
        verdict(live_rate >= 20_000.0)
    );
    println!(
        "full replay of {events} events in {:.1} s (target for 1,000,000: under 60 s): {}",
        total.as_secs_f64(),
        verdict(total < Duration::from_secs(60) * (events as u32) / 1_000_000)
    );
    println!(
        "replay throughput {rate:.0} events/s (target: at least 20,000): {}",
        verdict(rate >= 20_000.0)
    );
    println!(
        "replay at {:.2} × reading and decoding the log (target: at least 0.70): {}",
        rate / decode_rate,
        verdict(rate / decode_rate >= 0.7)
    );
    println!(
        "bulk-load replay of {events} events in {:.1} s (target for 1,000,000: under 20 s): {}",
        total.as_secs_f64(),
        verdict(total < Duration::from_secs(20) * (events as u32) / 1_000_000)
    );

    println!();
    println!("baseline: the live projectors again, lists and counts deferred …");
    let deferred_rate =
        project_live(&store, client, baseline, events as u64, Upkeep::Deferred).await?;
    println!(
        "live projectors keeping lists and counts: {:.2} × the rate without them \
         ({live_rate:.0} / {deferred_rate:.0} events/s)",
        live_rate / deferred_rate
    );
    Ok(())
}

/// Reads the log up to `head` in batches of `batch_size` as a replay does
/// and decodes every event, applying nothing; returns events per second.
async fn read_and_decode(store: &EventStore, head: u64, batch_size: usize) -> anyhow::Result<f64> {
    use futures::StreamExt;
    let started = Instant::now();
    let mut batches = store.feed_after(0).await?.ready_chunks(batch_size);
    let mut position = 0;
    while position < head {
        let Some(batch) = batches.next().await else {
            break;
        };
        for raw in batch {
            let raw = raw?;
            raw.decode()?;
            position = raw.position;
        }
    }
    Ok(head as f64 / started.elapsed().as_secs_f64())
}

/// Runs every projection's live projector from the first event until each
/// has reached `head`, keeping derived rows as `derived_rows` says, and
/// returns events per second.
async fn project_live(
    store: &EventStore,
    nats: async_nats::Client,
    database: &PgConnectOptions,
    head: u64,
    derived_rows: Upkeep,
) -> anyhow::Result<f64> {
    project_live_of(&Projection::ALL, store, nats, database, head, derived_rows).await
}

/// [`project_live`] for `projections` only.
pub(crate) async fn project_live_of(
    projections: &[Projection],
    store: &EventStore,
    nats: async_nats::Client,
    database: &PgConnectOptions,
    head: u64,
    derived_rows: Upkeep,
) -> anyhow::Result<f64> {
    let pool = resourcify_readmodel::connect(database.clone(), &PoolSettings::default()).await?;
    let started = Instant::now();
    let projectors = tokio::spawn(
        Projectors {
            projections: projections.to_vec(),
            store: store.clone(),
            pool: pool.clone(),
            nats,
            settings: ProjectorSettings {
                derived_rows,
                ..ProjectorSettings::default()
            },
        }
        .run(),
    );
    let reads = ReadModel::new(pool.clone(), Duration::from_secs(1));
    for projection in projections {
        while reads.projection_checkpoint(projection.name()).await? < head {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let elapsed = started.elapsed();
    projectors.abort();
    println!(
        "live projectors caught up with {head} events in {:.1} s",
        elapsed.as_secs_f64()
    );
    Ok(head as f64 / elapsed.as_secs_f64())
}
