//! The schema side of replay: a projection's next tables are built in a
//! schema of their own (`replay_<projection>`), with the live tables'
//! columns, constraints and indexes; a switch-over moves them into `public`
//! in one transaction, in place of the live ones.
//!
//! Everything that reads or writes a projection names its tables without a
//! schema, so a connection whose `search_path` starts with the replay schema
//! writes the next tables with the same code that writes the live ones, and
//! every connection resolves the names afresh after the switch.

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, PgConnection, Row};

use crate::projections::Projection;

/// Tables every replay schema has besides the projection's own: its
/// checkpoint and its dead letters.
const BOOKKEEPING: [&str; 2] = ["projection_checkpoints", "dead_letters"];

/// The schema a projection's next tables are built in.
pub fn replay_schema(projection: Projection) -> String {
    format!("replay_{}", projection.name())
}

fn retired_schema(projection: Projection) -> String {
    format!("retired_{}", projection.name())
}

/// Connection options that write `projection`'s next tables.
pub fn replay_connect_options(
    options: PgConnectOptions,
    projection: Projection,
) -> PgConnectOptions {
    options.options([(
        "search_path",
        format!("{}, public", replay_schema(projection)),
    )])
}

/// Identifiers here come from `Projection` and fixed lists, never from input.
async fn execute(conn: &mut PgConnection, sql: String) -> sqlx::Result<()> {
    sqlx::query(AssertSqlSafe(sql)).execute(&mut *conn).await?;
    Ok(())
}

/// Creates the replay schema and its empty tables unless they exist (a
/// replay that was interrupted resumes in them), and returns the replay's
/// checkpoint.
pub async fn prepare_replay(conn: &mut PgConnection, projection: Projection) -> sqlx::Result<u64> {
    let schema = replay_schema(projection);
    execute(conn, format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await?;
    for table in projection.tables().iter().chain(&BOOKKEEPING) {
        execute(
            conn,
            format!(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} (LIKE public.{table} INCLUDING ALL)"
            ),
        )
        .await?;
    }
    let position: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT position FROM {schema}.projection_checkpoints WHERE projection = $1"
    )))
    .bind(projection.name())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(position.map_or(0, |p| p as u64))
}

/// Forgets a replay: its schema and everything built in it.
pub async fn discard_replay(conn: &mut PgConnection, projection: Projection) -> sqlx::Result<()> {
    execute(
        conn,
        format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            replay_schema(projection)
        ),
    )
    .await
}

/// Locks the live checkpoint of `projection` for the caller's transaction
/// and returns it: the live projector cannot commit until the transaction
/// ends.
pub async fn lock_live_checkpoint(
    tx: &mut PgConnection,
    projection: Projection,
) -> sqlx::Result<u64> {
    sqlx::query(
        "INSERT INTO public.projection_checkpoints (projection, position) VALUES ($1, 0)
         ON CONFLICT (projection) DO NOTHING",
    )
    .bind(projection.name())
    .execute(&mut *tx)
    .await?;
    let position: i64 = sqlx::query_scalar(
        "SELECT position FROM public.projection_checkpoints WHERE projection = $1 FOR UPDATE",
    )
    .bind(projection.name())
    .fetch_one(&mut *tx)
    .await?;
    Ok(position as u64)
}

/// Inside the caller's transaction, which holds the live checkpoint lock:
/// puts the replayed tables in place of the live ones, with the live ones'
/// index names, takes over the replay's checkpoint and dead letters, and
/// sets the retired tables aside for [`drop_retired`].
pub async fn switch_over(tx: &mut PgConnection, projection: Projection) -> sqlx::Result<u64> {
    let (replay, retired) = (replay_schema(projection), retired_schema(projection));
    execute(tx, format!("DROP SCHEMA IF EXISTS {retired} CASCADE")).await?;
    execute(tx, format!("CREATE SCHEMA {retired}")).await?;
    for table in projection.tables() {
        execute(
            tx,
            format!("ALTER TABLE public.{table} SET SCHEMA {retired}"),
        )
        .await?;
        execute(
            tx,
            format!("ALTER TABLE {replay}.{table} SET SCHEMA public"),
        )
        .await?;
        keep_index_names(tx, table, &retired).await?;
    }
    let name = projection.name();
    let position: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT position FROM {replay}.projection_checkpoints WHERE projection = $1"
    )))
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or(0);
    sqlx::query("DELETE FROM public.dead_letters WHERE projection = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO public.dead_letters SELECT * FROM {replay}.dead_letters WHERE projection = $1"
    )))
    .bind(name)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE public.projection_checkpoints
         SET position = $2, updated_at = now(),
             dead_letters = (SELECT count(*) FROM public.dead_letters WHERE projection = $1)
         WHERE projection = $1",
    )
    .bind(name)
    .bind(position)
    .execute(&mut *tx)
    .await?;
    Ok(position as u64)
}

/// `LIKE … INCLUDING ALL` names the copied indexes after their columns;
/// later migrations name the live ones. Each new index takes the name of
/// the retired index with the same definition.
async fn keep_index_names(tx: &mut PgConnection, table: &str, retired: &str) -> sqlx::Result<()> {
    let indexes = |schema: String| {
        sqlx::query("SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2")
            .bind(schema)
            .bind(table.to_owned())
    };
    // The definition without its name and schema.
    let shape = |name: &str, definition: &str| {
        definition
            .replacen(&format!(" {name} ON "), " ON ", 1)
            .replace(&format!(" {retired}.{table} "), " . ")
            .replace(&format!(" public.{table} "), " . ")
    };
    let old: Vec<(String, String)> = indexes(retired.to_owned())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let new: Vec<(String, String)> = indexes("public".to_owned())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    for (new_name, new_definition) in &new {
        let wanted = old
            .iter()
            .find(|(old_name, old_definition)| {
                shape(old_name, old_definition) == shape(new_name, new_definition)
            })
            .map(|(old_name, _)| old_name);
        if let Some(old_name) = wanted.filter(|old_name| *old_name != new_name) {
            execute(
                tx,
                format!("ALTER INDEX public.\"{new_name}\" RENAME TO \"{old_name}\""),
            )
            .await?;
        }
    }
    Ok(())
}

/// Drops the tables a switch-over retired, and the emptied replay schema.
pub async fn drop_retired(conn: &mut PgConnection, projection: Projection) -> sqlx::Result<()> {
    execute(
        conn,
        format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            retired_schema(projection)
        ),
    )
    .await?;
    discard_replay(conn, projection).await
}
