//! What applying a batch of events to a projection does: skip what the
//! checkpoint says is applied, park what cannot be applied, write the rest
//! in set-based statements, and advance the checkpoint, all in the
//! caller's transaction.

use resourcify_domain::DomainEvent;
use resourcify_eventstore::RawEvent;
use resourcify_readmodel::projections::{Positioned, Projection, Upkeep};
use resourcify_readmodel::{
    DeadLetter, PgFailure, lock_checkpoint, plan_batch, record_dead_letter, save_checkpoint,
};
use sqlx::{Acquire, PgConnection};

/// What one committed batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// The checkpoint the batch found.
    pub found: u64,
    /// The checkpoint after the batch.
    pub checkpoint: u64,
    /// Events applied (not skipped as already applied, not dead-lettered).
    pub applied: usize,
    pub dead_lettered: usize,
    /// Keys whose views changed.
    pub touched: Vec<String>,
}

/// Applies a batch of raw events to a projection inside `tx`: skips events at
/// or below the checkpoint, dead-letters undecodable ones, writes the rest in
/// set-based statements, and advances the checkpoint. Applying the same batch
/// twice changes nothing the second time.
pub async fn apply_batch(
    tx: &mut PgConnection,
    projection: Projection,
    batch: &[RawEvent],
) -> sqlx::Result<BatchOutcome> {
    apply_batch_with(tx, projection, batch, Upkeep::Incremental).await
}

/// [`apply_batch`], keeping the projection's derived rows as `upkeep` says.
pub async fn apply_batch_with(
    tx: &mut PgConnection,
    projection: Projection,
    batch: &[RawEvent],
    upkeep: Upkeep,
) -> sqlx::Result<BatchOutcome> {
    let events: Vec<&RawEvent> = batch.iter().collect();
    apply_events(tx, projection, &events, upkeep).await
}

/// [`apply_batch_with`] over borrowed events, in log order.
pub(crate) async fn apply_events(
    tx: &mut PgConnection,
    projection: Projection,
    batch: &[&RawEvent],
    upkeep: Upkeep,
) -> sqlx::Result<BatchOutcome> {
    let name = projection.name();
    plan_batch(tx).await?;
    let checkpoint = lock_checkpoint(tx, name).await?;
    let fresh: Vec<&RawEvent> = batch
        .iter()
        .copied()
        .filter(|e| e.position > checkpoint)
        .collect();
    let Some(last) = fresh.last().map(|e| e.position) else {
        return Ok(BatchOutcome {
            found: checkpoint,
            checkpoint,
            applied: 0,
            dead_lettered: 0,
            touched: Vec::new(),
        });
    };

    let mut decoded: Vec<(u64, &DomainEvent)> = Vec::with_capacity(fresh.len());
    let mut dead_lettered = 0;
    for raw in fresh
        .iter()
        .filter(|raw| projection.reads_ce_type(raw.ce_type.as_deref()))
    {
        // Decoded once for every projection that reads it (`RawEvent::decoded`).
        match raw.decoded() {
            Ok(recorded) => decoded.push((raw.position, &recorded.event)),
            Err(error) => {
                dead_letter(tx, name, raw, error.to_owned()).await?;
                dead_lettered += 1;
            }
        }
    }

    let (applied, touched, rejected) =
        apply_or_isolate(tx, projection, &decoded, &fresh, upkeep).await?;
    save_checkpoint(tx, name, last).await?;
    Ok(BatchOutcome {
        found: checkpoint,
        checkpoint: last,
        applied,
        dead_lettered: dead_lettered + rejected,
        touched,
    })
}

/// Applies the decoded events as one set. If the set is refused for what the
/// data says (a constraint, a bad value), applies them one at a time instead,
/// each under a savepoint, so the one bad event becomes a dead letter and the
/// rest still land. Connection failures are passed up for a retry.
async fn apply_or_isolate(
    tx: &mut PgConnection,
    projection: Projection,
    decoded: &[(u64, &DomainEvent)],
    raw: &[&RawEvent],
    upkeep: Upkeep,
) -> sqlx::Result<(usize, Vec<String>, usize)> {
    let all: Vec<_> = decoded
        .iter()
        .map(|&(position, event)| Positioned { position, event })
        .collect();
    let mut savepoint = tx.begin().await?;
    match projection.apply_with(&mut savepoint, &all, upkeep).await {
        Ok(touched) => {
            savepoint.commit().await?;
            return Ok((all.len(), touched, 0));
        }
        Err(error) if is_data_error(&error) => savepoint.rollback().await?,
        Err(error) => return Err(error),
    }

    let mut touched = Vec::new();
    let (mut applied, mut rejected) = (0, 0);
    for one in &all {
        let mut savepoint = tx.begin().await?;
        match projection
            .apply_with(&mut savepoint, std::slice::from_ref(one), upkeep)
            .await
        {
            Ok(keys) => {
                savepoint.commit().await?;
                touched.extend(keys);
                applied += 1;
            }
            Err(error) if is_data_error(&error) => {
                savepoint.rollback().await?;
                let source = raw
                    .iter()
                    .find(|r| r.position == one.position)
                    .expect("every decoded event has its raw form");
                dead_letter(tx, projection.name(), source, error.to_string()).await?;
                rejected += 1;
            }
            Err(error) => return Err(error),
        }
    }
    Ok((applied, touched, rejected))
}

/// SQLSTATE classes 22 (data exception) and 23 (integrity constraint
/// violation) are about the event, not the database: retrying cannot help.
pub(crate) fn is_data_error(error: &sqlx::Error) -> bool {
    PgFailure::of(error) == PgFailure::BadData
}

async fn dead_letter(
    tx: &mut PgConnection,
    projection: &str,
    raw: &RawEvent,
    error: String,
) -> sqlx::Result<()> {
    tracing::error!(projection, position = raw.position, %error, "event dead-lettered");
    record_dead_letter(
        tx,
        &DeadLetter {
            projection,
            position: raw.position,
            subject: &raw.subject,
            event_type: raw.ce_type.as_deref(),
            payload: &raw.payload,
            error,
        },
    )
    .await
}
