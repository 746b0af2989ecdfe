//! Operator commands: projection status, dead letters, replay, staff roles.

use std::time::Duration;

use anyhow::{Context, bail};
use resourcify_app::{
    App, AppSettings, Backends, CommandMeta, ReadReplicas, TokenSecret, ViewPositions,
    projection_statuses,
};
use resourcify_domain::Actor;
use resourcify_eventstore::{
    EventStore, EventStoreSettings, IdempotencyKeys, Namespace, ReservationBook, StreamTickets,
};
use resourcify_fetch_guard::AllowList;
use resourcify_projector::{
    Projection, ReplaySettings, RetryOutcome, retry_dead_letter, skip_dead_letter,
};
use resourcify_readmodel::ReadModel;
use sqlx::postgres::PgConnectOptions;
use uuid::Uuid;

use crate::connect::{connect_nats, operator_pool, reach_postgres};
use crate::progress::ReplayBoard;

async fn read_model(database: &PgConnectOptions) -> anyhow::Result<ReadModel> {
    let pool = operator_pool(database).await?;
    Ok(ReadModel::new(pool, Duration::from_secs(5)))
}

/// Connection options for an operator command. Postgres' notices (a
/// replay's "table does not exist, skipping", dozens of them) tell an
/// operator nothing; warnings and errors still come through.
pub fn quiet(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("client_min_messages", "warning")])
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
    let client = connect_nats(nats_url).await?;
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
pub async fn retry(
    database: &PgConnectOptions,
    nats_url: &str,
    namespace: Namespace,
    name: &str,
    position: u64,
) -> anyhow::Result<()> {
    let projection = projection(name)?;
    let reads = read_model(database).await?;
    let client = connect_nats(nats_url).await?;
    let store = EventStore::open(client, EventStoreSettings::new(namespace)).await?;
    match retry_dead_letter(reads.pool(), &store, projection, position).await? {
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

/// The application as the operator drives it from the command line: no
/// HTTP, no projectors; it issues no tokens.
async fn operator_app(
    database: &PgConnectOptions,
    nats_url: &str,
    namespace: Namespace,
) -> anyhow::Result<App> {
    let client = connect_nats(nats_url).await?;
    let store = EventStore::open(client, EventStoreSettings::new(namespace.clone())).await?;
    let reservations = ReservationBook::open(&store).await?;
    let idempotency_keys = IdempotencyKeys::open(store.jetstream(), &namespace, 1).await?;
    let stream_tickets = StreamTickets::open(&store).await?;
    let reads = read_model(database).await?;
    let positions = ViewPositions::new(reads.clone());
    // The secret is never used: the operator signs no tokens.
    let settings = AppSettings::with_secret(TokenSecret::new(Uuid::new_v4().to_string()));
    let backends = Backends {
        store,
        reservations,
        idempotency_keys,
        stream_tickets,
        reads,
        replicas: ReadReplicas::default(),
        positions,
    };
    Ok(App::new(backends, settings, AllowList::default()))
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
    let app = operator_app(database, nats_url, namespace).await?;
    let outcome = app
        .moderation
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

/// Finishes erasing a deleted member (`resourcify admin erase`).
pub async fn erase(
    database: &PgConnectOptions,
    nats_url: &str,
    namespace: Namespace,
    user_id: Uuid,
) -> anyhow::Result<()> {
    let app = operator_app(database, nats_url, namespace).await?;
    let erased = app
        .accounts
        .erase(user_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "erased member {user_id}: key destroyed, {erased} event(s) written in clear erased, names freed"
    );
    Ok(())
}

/// Claims again every name the log says is held (`resourcify admin
/// rebuild-reservations`).
pub async fn rebuild_reservations(nats_url: &str, namespace: Namespace) -> anyhow::Result<()> {
    let client = connect_nats(nats_url).await?;
    let store = EventStore::open(client, EventStoreSettings::new(namespace)).await?;
    let book = ReservationBook::open(&store).await?;
    let report = resourcify_eventstore::rebuild_reservations(&store, &book).await?;
    println!(
        "{} name(s) held as the log says; {} held by another owner; {} unreadable event(s) passed over",
        report.held,
        report.conflicts.len(),
        report.unreadable
    );
    for (kind, owner, holder) in &report.conflicts {
        println!("  {kind:?} of {owner} is held by {holder}");
    }
    anyhow::ensure!(
        report.conflicts.is_empty(),
        "some names are held by another owner than the log's"
    );
    Ok(())
}

/// Rebuilds one projection (or all) beside the live tables and switches
/// over, with a progress bar per projection on stderr.
pub async fn replay(
    database: &PgConnectOptions,
    nats_url: &str,
    namespace: Namespace,
    only: Option<&str>,
    settings: ReplaySettings,
) -> anyhow::Result<()> {
    let projections = match only {
        Some(name) => vec![projection(name)?],
        None => Projection::ALL.to_vec(),
    };
    let client = connect_nats(nats_url).await?;
    let store = EventStore::open(client, EventStoreSettings::new(namespace)).await?;
    // Replay opens connections of its own: it is the address that is
    // checked here, before any work.
    reach_postgres(database).await?;
    // The projections replay side by side from one reading of the log.
    let mut board = ReplayBoard::on_stderr(&projections);
    let started = std::time::Instant::now();
    let reports =
        resourcify_projector::replay_all(&store, database, &projections, &settings, |progress| {
            board.update(progress)
        })
        .await?;
    board.finish(&reports);
    let mut events = 0;
    for report in reports {
        events = events.max(report.events + report.resumed_from);
        let resumed = if report.resumed_from > 0 {
            format!(", resumed from position {}", report.resumed_from)
        } else {
            String::new()
        };
        println!(
            "replayed {}: {} events in {:.1} s ({:.0} events/s){resumed}; switched over at position {}",
            report.projection.name(),
            report.events,
            report.elapsed.as_secs_f64(),
            report.rate(),
            report.switched_at
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "done: a log of {events} events in {elapsed:.1} s ({:.0} events/s)",
        events as f64 / elapsed
    );
    Ok(())
}
