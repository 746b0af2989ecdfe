//! Events a projection could not apply, kept with the reason.

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

pub async fn record_dead_letter(
    tx: &mut PgConnection,
    letter: &DeadLetter<'_>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO dead_letters (projection, position, subject, event_type, payload, error)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (projection, position) DO UPDATE SET error = EXCLUDED.error",
        letter.projection,
        letter.position as i64,
        letter.subject,
        letter.event_type,
        letter.payload,
        letter.error
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
