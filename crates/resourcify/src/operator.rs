//! Operator commands: projection status, dead letters, replay, staff roles.

use std::time::Duration;

use anyhow::{Context, bail};
use resourcify_app::{
    App, AppSettings, CommandMeta, TokenSecret, ViewPositions, projection_statuses,
};
use resourcify_domain::Actor;
use resourcify_eventstore::{
    EventStore, EventStoreSettings, IdempotencyKeys, Namespace, ReservationBook,
};
use resourcify_projector::{
    Projection, ReplaySettings, RetryOutcome, retry_dead_letter, skip_dead_letter,
};
use resourcify_readmodel::ReadModel;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use uuid::Uuid;

async fn read_model(database: &PgConnectOptions) -> anyhow::Result<ReadModel> {
    let pool = PgPool::connect_with(database.clone())
        .await
        .context("connecting to Postgres")?;
    Ok(ReadModel::new(pool, Duration::from_secs(5)))
}

fn projection(name: &str) -> anyhow::Result<Projection> {
    Projection::from_name(name).with_context(|| {
        let known: Vec<_> = Projection::ALL.iter().map(|p| p.name()).collect();
        format!("no projection {name:?}; known: {}", known.join(", "))
    })
}

/// Prints each projection's checkpoint, the head of the log, lag and dead letters.
pub async fn status(
    database: &PgConnectOptions,
    nats_url: &str,
    namespace: Namespace,
) -> anyhow::Result<()> {
    let client = async_nats::connect(nats_url)
        .await
        .with_context(|| format!("connecting to NATS at {nats_url}"))?;
    let store = EventStore::open(client, EventStoreSettings::new(namespace)).await?;
    let reads = read_model(database).await?;
    let statuses = projection_statuses(&store, &reads)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{:<12} {:>12} {:>12} {:>12} {:>12} {:>13}",
        "projection", "checkpoint", "head", "lag events", "lag seconds", "dead letters"
    );
    for s in statuses {
        println!(
            "{:<12} {:>12} {:>12} {:>12} {:>12.1} {:>13}",
            s.projection, s.checkpoint, s.head, s.lag_events, s.lag_seconds, s.dead_letters
        );
    }
    Ok(())
}

/// Lists dead letters, of one projection or all.
pub async fn list_dead_letters(
    database: &PgConnectOptions,
    only: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(name) = only {
        projection(name)?;
    }
    let reads = read_model(database).await?;
    let (mut after, mut position, mut shown) = (String::new(), -1_i64, 0);
    loop {
        let page = reads.dead_letters_after(&after, position, 100).await?;
        let Some(last) = page.last() else { break };
        (after, position) = (last.projection.clone(), last.position);
        for letter in page
            .iter()
            .filter(|l| only.is_none_or(|p| l.projection == p))
        {
            println!(
                "{} {} {} {} {}\n    {}",
                letter.projection,
                letter.position,
                letter.event_type.as_deref().unwrap_or("(no type)"),
                letter.subject,
                letter.recorded_at.format("%Y-%m-%dT%H:%M:%SZ"),
                letter.error
            );
            shown += 1;
        }
    }
    println!("{shown} dead letter(s)");
    Ok(())
}

/// Applies one dead letter again.
pub async fn retry(database: &PgConnectOptions, name: &str, position: u64) -> anyhow::Result<()> {
    let projection = projection(name)?;
    let reads = read_model(database).await?;
    match retry_dead_letter(reads.pool(), projection, position).await? {
        RetryOutcome::Applied => println!("applied {name} {position}; dead letter removed"),
        RetryOutcome::StillFailing(error) => bail!("{name} {position} still fails: {error}"),
        RetryOutcome::NotFound => bail!("no dead letter {name} {position}"),
    }
    Ok(())
}

/// Gives up on one dead letter.
pub async fn skip(database: &PgConnectOptions, name: &str, position: u64) -> anyhow::Result<()> {
    let projection = projection(name)?;
    let reads = read_model(database).await?;
    if !skip_dead_letter(reads.pool(), projection, position).await? {
        bail!("no dead letter {name} {position}");
    }
    println!("skipped {name} {position}; the event stays in the log, unprojected");
    Ok(())
}

/// Grants or revokes a role as the operator (`resourcify admin grant`).
pub async fn set_role(
    database: &PgConnectOptions,
    nats_url: &str,
    namespace: Namespace,
    username: &str,
    role: &str,
    granted: bool,
) -> anyhow::Result<()> {
    let client = async_nats::connect(nats_url)
        .await
        .with_context(|| format!("connecting to NATS at {nats_url}"))?;
    let store = EventStore::open(client, EventStoreSettings::new(namespace.clone())).await?;
    let reservations = ReservationBook::open(store.jetstream(), &namespace, 1).await?;
    let idempotency_keys = IdempotencyKeys::open(store.jetstream(), &namespace, 1).await?;
    let reads = read_model(database).await?;
    let positions = ViewPositions::new(reads.clone());
    // The operator issues no tokens; the secret is never used.
    let settings = AppSettings::with_secret(TokenSecret::new(Uuid::new_v4().to_string()));
    let app = App::new(
        store,
        reservations,
        idempotency_keys,
        reads,
        positions,
        settings,
    );
    let outcome = app
        .set_role(
            &Actor::operator(),
            username,
            role,
            granted,
            &CommandMeta::default(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let verb = if granted { "granted" } else { "revoked" };
    println!(
        "{verb} {role} for {username} (user {}, position {})",
        outcome.id, outcome.position
    );
    Ok(())
}

/// Rebuilds one projection (or all) beside the live tables and switches
/// over, with a progress line on stderr.
pub async fn replay(
    database: &PgConnectOptions,
    nats_url: &str,
    namespace: Namespace,
    only: Option<&str>,
    restart: bool,
) -> anyhow::Result<()> {
    let projections = match only {
        Some(name) => vec![projection(name)?],
        None => Projection::ALL.to_vec(),
    };
    let client = async_nats::connect(nats_url)
        .await
        .with_context(|| format!("connecting to NATS at {nats_url}"))?;
    let store = EventStore::open(client, EventStoreSettings::new(namespace)).await?;
    let settings = ReplaySettings {
        restart,
        ..ReplaySettings::default()
    };
    for projection in projections {
        let mut shown = std::time::Instant::now();
        let report = resourcify_projector::replay(&store, database, projection, &settings, |p| {
            if shown.elapsed() < Duration::from_millis(250) && p.position < p.head {
                return;
            }
            shown = std::time::Instant::now();
            let left = p.head.saturating_sub(p.position);
            let eta = if p.rate > 0.0 {
                left as f64 / p.rate
            } else {
                0.0
            };
            let percent = 100.0 * p.position as f64 / p.head.max(1) as f64;
            let filled = (percent / 5.0) as usize;
            eprint!(
                "\r{:<10} [{:<20}] {}/{} events ({percent:.0}%), {:.0}/s, ETA {eta:.0} s   ",
                p.projection.name(),
                "#".repeat(filled.min(20)),
                p.position,
                p.head,
                p.rate
            );
        })
        .await?;
        eprintln!();
        let resumed = if report.resumed_from > 0 {
            format!(", resumed from position {}", report.resumed_from)
        } else {
            String::new()
        };
        println!(
            "replayed {}: {} events in {:.1} s ({:.0} events/s){resumed}; switched over at position {}",
            projection.name(),
            report.events,
            report.elapsed.as_secs_f64(),
            report.rate(),
            report.switched_at
        );
    }
    Ok(())
}
