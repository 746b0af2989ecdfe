//! How Postgres plans a projection's batch: by the keys in it, not by
//! reading a whole table.

use sqlx::PgConnection;

/// Settings for the whole of a batch's transaction. A batch's statements
/// run for milliseconds, and JIT compilation would take longer than that:
/// the planner compiles any statement whose cost estimate passes
/// `jit_above_cost`, and a batch of 2,000 votes passes it (20 ms of
/// compilation on a 200 ms statement). `SET LOCAL` ends with the
/// transaction.
pub async fn plan_batch(tx: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::raw_sql("SET LOCAL jit = off")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Until [`plan_freely`], joins are nested loops: each row of the batch
/// probes an index. For a statement whose rows to change are worked out
/// first (a materialised CTE) and then joined to a large table on its
/// primary key, that is the only plan that does not read the whole table.
/// The planner prices each probe as a random disk read and, given a few
/// thousand keys, would rather hash the whole table (ADR 11). Not for
/// statements joining three or more tables: forced nested loops there can
/// start from the wrong table, which is worse than a scan.
pub async fn probe_by_key(tx: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::raw_sql("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Ends [`probe_by_key`].
pub async fn plan_freely(tx: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::raw_sql("SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT")
        .execute(&mut *tx)
        .await?;
    Ok(())
}
