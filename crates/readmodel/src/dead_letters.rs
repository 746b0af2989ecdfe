//! Events a projection could not apply, kept with the reason.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// One event that a projection skipped.
#[derive(Debug, Clone)]
pub struct DeadLetter<'a> {
    pub projection: &'a str,
    pub position: u64,
    pub subject: &'a str,
    pub event_type: Option<&'a str>,
    pub payload: &'a [u8],
    pub error: String,
}

/// Parks an event (or updates the error of one already parked), keeping the
/// projection's dead-letter count in step. Needs the checkpoint row, which the
/// caller's transaction has locked.
pub async fn record_dead_letter(
    tx: &mut PgConnection,
    letter: &DeadLetter<'_>,
) -> sqlx::Result<()> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO dead_letters (projection, position, subject, event_type, payload, error)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (projection, position) DO UPDATE SET error = EXCLUDED.error
           RETURNING (xmax = 0) AS "inserted!""#,
        letter.projection,
        letter.position as i64,
        letter.subject,
        letter.event_type,
        letter.payload,
        letter.error
    )
    .fetch_one(&mut *tx)
    .await?;
    if inserted {
        count_dead_letters(tx, letter.projection, 1).await?;
    }
    Ok(())
}

async fn count_dead_letters(
    tx: &mut PgConnection,
    projection: &str,
    change: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE projection_checkpoints SET dead_letters = dead_letters + $2 WHERE projection = $1",
        projection,
        change
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A stored dead letter, as operators see it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterRow {
    pub projection: String,
    pub position: i64,
    pub subject: String,
    pub event_type: Option<String>,
    pub payload: Vec<u8>,
    pub error: String,
    pub recorded_at: DateTime<Utc>,
}

/// Locks one dead letter for a retry in this transaction.
pub async fn lock_dead_letter(
    tx: &mut PgConnection,
    projection: &str,
    position: u64,
) -> sqlx::Result<Option<DeadLetterRow>> {
    sqlx::query_as!(
        DeadLetterRow,
        "SELECT projection, position, subject, event_type, payload, error, recorded_at
         FROM dead_letters WHERE projection = $1 AND position = $2 FOR UPDATE",
        projection,
        position as i64
    )
    .fetch_optional(&mut *tx)
    .await
}

/// Removes a dead letter (after a successful retry, or when skipped).
pub async fn remove_dead_letter(
    tx: &mut PgConnection,
    projection: &str,
    position: u64,
) -> sqlx::Result<bool> {
    let deleted = sqlx::query!(
        "DELETE FROM dead_letters WHERE projection = $1 AND position = $2",
        projection,
        position as i64
    )
    .execute(&mut *tx)
    .await?;
    let removed = deleted.rows_affected() == 1;
    if removed {
        count_dead_letters(tx, projection, -1).await?;
    }
    Ok(removed)
}
