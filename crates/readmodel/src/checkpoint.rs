//! The projection checkpoint, read and written inside the projection's own
//! transaction so that rows and position commit together or not at all.

use sqlx::PgConnection;

/// Locks the projection's checkpoint row for this transaction and returns it.
/// A second projector instance blocks here, then sees the advanced position
/// and skips what the first one applied.
pub async fn lock_checkpoint(tx: &mut PgConnection, projection: &str) -> sqlx::Result<u64> {
    sqlx::query!(
        "INSERT INTO projection_checkpoints (projection, position) VALUES ($1, 0)
         ON CONFLICT (projection) DO NOTHING",
        projection
    )
    .execute(&mut *tx)
    .await?;
    let position = sqlx::query_scalar!(
        "SELECT position FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
        projection
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(position as u64)
}

/// Moves the checkpoint forward; it never moves back.
pub async fn save_checkpoint(
    tx: &mut PgConnection,
    projection: &str,
    position: u64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE projection_checkpoints SET position = $2, updated_at = now()
         WHERE projection = $1 AND position < $2",
        projection,
        position as i64
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
