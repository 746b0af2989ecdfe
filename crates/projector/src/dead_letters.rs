//! Operator actions on dead letters: apply one again, or give up on it.

use resourcify_eventstore::{EventStore, RawEvent};
use resourcify_readmodel::projections::{Positioned, Projection};
use resourcify_readmodel::{DeadLetter, lock_dead_letter, record_dead_letter, remove_dead_letter};
use sqlx::{Acquire, PgPool};

use crate::engine::is_data_error;

/// What a retry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Applied; the dead letter is gone.
    Applied,
    /// Still cannot be applied; the dead letter stays with this error.
    StillFailing(String),
    /// No such dead letter.
    NotFound,
}

/// Applies a dead-lettered event to its projection again, e.g. after a fix.
/// The projection has moved on, so this suits projections whose writes do
/// not depend on order (all of today's); the error is kept if it fails again.
pub async fn retry_dead_letter(
    pool: &PgPool,
    store: &EventStore,
    projection: Projection,
    position: u64,
) -> sqlx::Result<RetryOutcome> {
    let name = projection.name();
    let mut tx = pool.begin().await?;
    let Some(letter) = lock_dead_letter(&mut tx, name, position).await? else {
        return Ok(RetryOutcome::NotFound);
    };
    let raw = RawEvent::from_parts(
        position,
        &letter.subject,
        letter.event_type.as_deref(),
        letter.payload.into(),
    );
    // A sealed event opens with its owner's key (or to placeholders).
    let raw = store
        .open_event(raw)
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("opening the dead letter: {e}")))?;
    let outcome = match raw.decode() {
        Err(error) => RetryOutcome::StillFailing(error.to_string()),
        Ok(recorded) => {
            let mut savepoint = tx.begin().await?;
            let one = Positioned {
                position,
                event: &recorded.event,
            };
            match projection.apply(&mut savepoint, &[one]).await {
                Ok(_) => {
                    savepoint.commit().await?;
                    RetryOutcome::Applied
                }
                Err(error) if is_data_error(&error) => {
                    savepoint.rollback().await?;
                    RetryOutcome::StillFailing(error.to_string())
                }
                Err(error) => return Err(error),
            }
        }
    };
    match &outcome {
        RetryOutcome::Applied => {
            remove_dead_letter(&mut tx, name, position).await?;
        }
        RetryOutcome::StillFailing(error) => {
            let letter = DeadLetter {
                projection: name,
                position,
                subject: &raw.subject,
                event_type: raw.ce_type.as_deref(),
                payload: &raw.payload,
                error: error.clone(),
            };
            record_dead_letter(&mut tx, &letter).await?;
        }
        RetryOutcome::NotFound => {}
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Gives up on a dead letter: the event stays in the log, the projection
/// never shows it. Returns whether there was one.
pub async fn skip_dead_letter(
    pool: &PgPool,
    projection: Projection,
    position: u64,
) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let removed = remove_dead_letter(&mut tx, projection.name(), position).await?;
    tx.commit().await?;
    Ok(removed)
}
