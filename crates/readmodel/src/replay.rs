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
/// A replay's commits need not wait for the disk: each holds its own
/// checkpoint, so whatever a crash loses is replayed again on resume.
pub fn replay_connect_options(
    options: PgConnectOptions,
    projection: Projection,
) -> PgConnectOptions {
    options.options([
        (
            "search_path",
            format!("{}, public", replay_schema(projection)),
        ),
        ("synchronous_commit", "off".to_owned()),
    ])
}

/// Identifiers here come from `Projection` and fixed lists, never from input.
async fn execute(conn: &mut PgConnection, sql: String) -> sqlx::Result<()> {
    sqlx::query(AssertSqlSafe(sql)).execute(&mut *conn).await?;
    Ok(())
}

/// One index of a live table, as `pg_indexes` defines it.
struct LiveIndex {
    name: String,
    definition: String,
    /// The primary-key or unique constraint it backs: name and kind.
    constraint: Option<(String, String)>,
}

impl LiveIndex {
    /// The same index, under the same name, on the table of the same name
    /// in `schema`.
    fn definition_in(&self, schema: &str, table: &str) -> String {
        self.definition
            .replacen("INDEX ", "INDEX IF NOT EXISTS ", 1)
            .replacen(
                &format!(" ON public.{table} "),
                &format!(" ON {schema}.{table} "),
                1,
            )
    }
}

async fn live_indexes(conn: &mut PgConnection, table: &str) -> sqlx::Result<Vec<LiveIndex>> {
    let rows = sqlx::query(
        "SELECT i.indexname::text, i.indexdef, c.conname::text, c.contype::text
         FROM pg_indexes i
         LEFT JOIN pg_constraint c
           ON c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass
          AND c.contype IN ('p', 'u')
         WHERE i.schemaname = 'public' AND i.tablename = $1
         ORDER BY 1",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| LiveIndex {
            name: row.get(0),
            definition: row.get(1),
            constraint: row
                .get::<Option<String>, _>(2)
                .zip(row.get::<Option<String>, _>(3)),
        })
        .collect())
}

/// Creates the replay schema and its empty tables unless they exist (a
/// replay that was interrupted resumes in them), and returns the replay's
/// checkpoint. The tables get the live ones' columns, checks, constraints
/// and indexes under the live names, except the indexes only reads use
/// ([`Projection::read_only_indexes`]): [`build_indexes`] builds those once
/// over the filled tables, far cheaper than row by row.
pub async fn prepare_replay(conn: &mut PgConnection, projection: Projection) -> sqlx::Result<u64> {
    let schema = replay_schema(projection);
    execute(conn, format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await?;
    for table in projection.tables().iter().chain(&BOOKKEEPING) {
        execute(
            conn,
            format!(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} \
                 (LIKE public.{table} INCLUDING ALL EXCLUDING INDEXES)"
            ),
        )
        .await?;
        // Derived tables are filled in one statement at the end of the
        // replay; all their indexes are built after it.
        if projection.derived_tables().contains(table) {
            continue;
        }
        let indexes = live_indexes(conn, table).await?;
        let deferred = projection.read_only_indexes();
        for index in indexes
            .iter()
            .filter(|i| !deferred.contains(&i.name.as_str()))
        {
            create_index(conn, &schema, table, index).await?;
        }
    }
    let position: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT position FROM {schema}.projection_checkpoints WHERE projection = $1"
    )))
    .bind(projection.name())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(position.map_or(0, |p| p as u64))
}

/// Which of a projection's tables [`build_indexes`] indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedTables {
    /// Those the projection writes event by event: ready to index as soon
    /// as the replay has caught up, while the derived ones are computed.
    Base,
    /// Those [`Projection::derive`] fills: ready once it has run.
    Derived,
}

/// Builds the replay tables' remaining indexes under the live names and
/// gathers their statistics; run once the tables hold (nearly) everything,
/// before the switch-over.
pub async fn build_indexes(
    conn: &mut PgConnection,
    projection: Projection,
    which: IndexedTables,
) -> sqlx::Result<()> {
    let schema = replay_schema(projection);
    // Sorting a whole table for an index wants memory; it is one session's.
    execute(conn, "SET maintenance_work_mem = '1GB'".to_owned()).await?;
    let derived = projection.derived_tables();
    let tables = projection
        .tables()
        .iter()
        .filter(|table| derived.contains(table) == (which == IndexedTables::Derived));
    for table in tables {
        // Those already there were made by `prepare_replay`.
        for index in live_indexes(conn, table).await? {
            create_index(conn, &schema, table, &index).await?;
        }
        // Fresh tables have no statistics; until autovacuum gathered some,
        // the planner would guess, and might sort a whole list.
        execute(conn, format!("ANALYZE {schema}.{table}")).await?;
    }
    execute(conn, "RESET maintenance_work_mem".to_owned()).await
}

/// Creates `index` on the table of its name in `schema` unless it is there,
/// with the constraint (primary key, unique) it backs on the live table.
async fn create_index(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
    index: &LiveIndex,
) -> sqlx::Result<()> {
    execute(conn, index.definition_in(schema, table)).await?;
    let Some((constraint, kind)) = &index.constraint else {
        return Ok(());
    };
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint
                        WHERE conname = $1 AND connamespace = $2::regnamespace)",
    )
    .bind(constraint)
    .bind(schema)
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        let kind = if kind == "p" { "PRIMARY KEY" } else { "UNIQUE" };
        execute(
            conn,
            format!(
                "ALTER TABLE {schema}.{table} ADD CONSTRAINT \"{constraint}\" \
                 {kind} USING INDEX \"{}\"",
                index.name
            ),
        )
        .await?;
    }
    Ok(())
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
/// puts the replayed tables in place of the live ones, takes over the
/// replay's checkpoint and dead letters, and sets the retired tables aside
/// for [`drop_retired`].
///
/// Readers lock the tables they join in their own order, so waiting for
/// them one by one could deadlock with one of them. The switch takes every
/// table at once and waits at most `lock_wait` for them: if readers hold
/// them longer, it fails with `lock_not_available` (55P03), having changed
/// nothing, and the caller tries again a moment later. Readers never fail.
pub async fn switch_over(
    tx: &mut PgConnection,
    projection: Projection,
    lock_wait: std::time::Duration,
) -> sqlx::Result<u64> {
    let (replay, retired) = (replay_schema(projection), retired_schema(projection));
    execute(
        tx,
        format!("SET LOCAL lock_timeout = '{}ms'", lock_wait.as_millis()),
    )
    .await?;
    let tables: Vec<String> = projection
        .tables()
        .iter()
        .map(|table| format!("public.{table}"))
        .collect();
    execute(
        tx,
        format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", tables.join(", ")),
    )
    .await?;
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
