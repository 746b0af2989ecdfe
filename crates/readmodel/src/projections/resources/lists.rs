//! The rows the projection derives from its own base rows: vote counts
//! and karma (from the votes), list rows and tag counts (from the resources and their
//! counts). Kept batch by batch, or derived in bulk at the end of a replay.

use std::collections::BTreeMap;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::batch_plans::{plan_freely, probe_by_key};
use crate::projections::Upkeep;

/// The derived rows, kept per batch or left to [`derive`].
#[derive(Debug, Clone, Copy)]
pub(super) struct DerivedRows(pub Upkeep);

impl DerivedRows {
    /// Whether each batch keeps them.
    pub fn incremental(self) -> bool {
        self.0 == Upkeep::Incremental
    }

    /// Lists the new resources `ids`.
    pub async fn add(self, tx: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
        if self.incremental() {
            add_listings(tx, ids, &[]).await?;
        }
        Ok(())
    }

    /// Takes the resources `ids` out of every list, before a change to
    /// their tags, kind or visibility; returns the lists they were in, for
    /// [`Self::relist`].
    pub async fn delist(self, tx: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<Vec<String>> {
        if !self.incremental() || ids.is_empty() {
            return Ok(Vec::new());
        }
        // Found by the lists they belong to as they stand, through the
        // primary key: no index by resource to keep up.
        sqlx::query_scalar!(
            "DELETE FROM resource_listings l
             USING resources r
             CROSS JOIN LATERAL resource_scopes(r.source_id, r.tags, r.kind, r.author_id) AS s (scope)
             WHERE r.id = ANY($1) AND l.scope_key = resource_list_key(s.scope)
               AND l.listed_at = r.listed_at AND l.scope = s.scope
             RETURNING l.scope",
            ids
        )
        .fetch_all(&mut *tx)
        .await
    }

    /// Lists the resources `ids` again after the change, and moves the tag
    /// counts by what [`Self::delist`] `removed` and what comes back.
    pub async fn relist(
        self,
        tx: &mut PgConnection,
        ids: &[Uuid],
        removed: &[String],
    ) -> sqlx::Result<()> {
        if self.incremental() {
            add_listings(tx, ids, removed).await?;
        }
        Ok(())
    }

    /// Carries the new vote counts `counts` (resource, votes) into the
    /// resources' list rows.
    pub async fn rescore(self, tx: &mut PgConnection, counts: &[(Uuid, i32)]) -> sqlx::Result<()> {
        if self.incremental() {
            rescore_listings(tx, counts).await?;
        }
        Ok(())
    }
}

/// Adds the list rows of `ids` (the visible ones) and moves the tag counts
/// by what was added and what the caller `removed`.
async fn add_listings(tx: &mut PgConnection, ids: &[Uuid], removed: &[String]) -> sqlx::Result<()> {
    if ids.is_empty() && removed.is_empty() {
        return Ok(());
    }
    // In key order: rows of one list then land on the same index pages one
    // after another, instead of each descending to a page the last row
    // did not touch (ADR 12).
    let added = sqlx::query_scalar!(
        r#"INSERT INTO resource_listings (scope, listed_at, resource_id, votes, hot)
           SELECT s.scope, r.listed_at, r.id, coalesce(c.votes, 0),
                  resource_hot(coalesce(c.votes, 0), r.created_at)
           FROM resources r
           LEFT JOIN resource_vote_counts c ON c.resource_id = r.id
           CROSS JOIN LATERAL resource_scopes(r.source_id, r.tags, r.kind, r.author_id) AS s (scope)
           WHERE r.id = ANY($1) AND NOT r.hidden AND NOT r.retracted AND NOT r.held
           ORDER BY resource_list_key(s.scope), r.listed_at
           RETURNING scope AS "scope!""#,
        ids
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut deltas: BTreeMap<&str, i32> = BTreeMap::new();
    for scope in removed {
        if let Some(tag) = scope.strip_prefix("tag:") {
            *deltas.entry(tag).or_default() -= 1;
        }
    }
    for scope in &added {
        if let Some(tag) = scope.strip_prefix("tag:") {
            *deltas.entry(tag).or_default() += 1;
        }
    }
    deltas.retain(|_, delta| *delta != 0);
    if deltas.is_empty() {
        return Ok(());
    }
    let tags: Vec<String> = deltas.keys().map(|t| (*t).to_owned()).collect();
    let changes: Vec<i32> = deltas.into_values().collect();
    sqlx::query!(
        // Existing tags move by their delta; new ones come in with it. (One
        // upsert would need each delta looked up again per conflicting row.)
        "WITH d AS (SELECT * FROM UNNEST($1::text[], $2::int[]) AS d (tag, delta)),
         moved AS (
             UPDATE tag_counts t SET resources = t.resources + d.delta
             FROM d WHERE t.tag = d.tag
             RETURNING t.tag
         )
         INSERT INTO tag_counts (tag, resources)
         SELECT tag, delta FROM d
         WHERE delta > 0 AND tag NOT IN (SELECT tag FROM moved)",
        &tags,
        &changes
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Carries new vote counts into the list rows (top and hot sort by them).
async fn rescore_listings(tx: &mut PgConnection, counts: &[(Uuid, i32)]) -> sqlx::Result<()> {
    if counts.is_empty() {
        return Ok(());
    }
    let (ids, votes): (Vec<Uuid>, Vec<i32>) = counts.iter().copied().unzip();
    // Each row's list key is worked out first, so the update probes the
    // whole primary key. Written as one join, the only key Postgres could
    // hash on was `listed_at`, and it read every list row to do so; left
    // to choose, it still hashes the whole table (ADR 11). The keys are
    // probed in order, as new rows are inserted (ADR 12).
    probe_by_key(tx).await?;
    sqlx::query!(
        "WITH rescored AS MATERIALIZED (
             SELECT resource_list_key(s.scope) AS scope_key, r.listed_at, s.scope, n.votes,
                    resource_hot(n.votes, r.created_at) AS hot
             FROM UNNEST($1::uuid[], $2::int[]) AS n (resource_id, votes)
             JOIN resources r ON r.id = n.resource_id
             CROSS JOIN LATERAL resource_scopes(r.source_id, r.tags, r.kind, r.author_id) AS s (scope)
             ORDER BY scope_key, r.listed_at
         )
         UPDATE resource_listings l SET votes = n.votes, hot = n.hot
         FROM rescored n
         WHERE l.scope_key = n.scope_key AND l.listed_at = n.listed_at AND l.scope = n.scope",
        &ids,
        &votes
    )
    .execute(&mut *tx)
    .await?;
    plan_freely(tx).await?;
    Ok(())
}

/// Every derived row, from the base rows as they stand. The list rows are
/// most of the work, and Postgres inserts them on one core per statement:
/// two connections insert a half each.
pub(in crate::projections) async fn derive(pool: &PgPool) -> sqlx::Result<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query!("TRUNCATE resource_vote_counts, resource_listings, tag_counts, resource_karma")
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO resource_vote_counts (resource_id, votes)
         SELECT resource_id, count(*) FROM resource_votes GROUP BY resource_id"
    )
    .execute(&mut *conn)
    .await?;
    // Whatever became of a resource, its votes count for its author
    // (`resourcify_domain::karma`); news items have none.
    sqlx::query!(
        "INSERT INTO resource_karma (user_id, votes)
         SELECT r.author_id, sum(c.votes)
         FROM resource_vote_counts c JOIN resources r ON r.id = c.resource_id
         WHERE r.source_id IS NULL
         GROUP BY r.author_id"
    )
    .execute(&mut *conn)
    .await?;
    let list_half = |half: i64| async move {
        sqlx::query!(
            "INSERT INTO resource_listings (scope, listed_at, resource_id, votes, hot)
             SELECT s.scope, r.listed_at, r.id, coalesce(c.votes, 0),
                    resource_hot(coalesce(c.votes, 0), r.created_at)
             FROM resources r
             LEFT JOIN resource_vote_counts c ON c.resource_id = r.id
             CROSS JOIN LATERAL resource_scopes(r.source_id, r.tags, r.kind, r.author_id) AS s (scope)
             WHERE NOT r.hidden AND NOT r.retracted AND NOT r.held AND r.listed_at % 2 = $1",
            half
        )
        .execute(&mut *pool.acquire().await?)
        .await
    };
    let count_tags = sqlx::query!(
        "INSERT INTO tag_counts (tag, resources)
         SELECT t, count(*) FROM resources r, unnest(r.tags) AS t
         WHERE r.source_id IS NULL AND NOT r.hidden AND NOT r.retracted AND NOT r.held
         GROUP BY t"
    )
    .execute(&mut *conn);
    tokio::try_join!(list_half(0), list_half(1), count_tags)?;
    Ok(())
}
