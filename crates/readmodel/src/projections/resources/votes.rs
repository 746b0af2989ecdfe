//! Votes: who voted for what (`resource_votes`), how many votes each
//! resource has (`resource_vote_counts`) and how many each member's
//! resources have (`resource_karma`), the last two derived from the first.

use resourcify_domain::DomainEvent;
use resourcify_domain::vote::VoteEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::lists::DerivedRows;
use crate::batch_plans::{plan_freely, probe_by_key};
use crate::projections::Positioned;

/// The (resource, voter, time) of each vote event in a run.
fn votes_of(
    events: &[Positioned<'_>],
) -> (Vec<Uuid>, Vec<Uuid>, Vec<chrono::DateTime<chrono::Utc>>) {
    let mut columns = (Vec::new(), Vec::new(), Vec::new());
    for e in events {
        let (resource_id, user_id, at) = match e.event {
            DomainEvent::Vote(VoteEvent::Cast(v)) => (v.resource_id, v.user_id, v.at),
            DomainEvent::Vote(VoteEvent::Withdrawn(v)) => (v.resource_id, v.user_id, v.at),
            _ => continue,
        };
        columns.0.push(resource_id);
        columns.1.push(user_id);
        columns.2.push(at);
    }
    columns
}

pub(super) async fn cast(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
    derived: DerivedRows,
) -> sqlx::Result<Vec<Uuid>> {
    let (resources, voters, times) = votes_of(events);
    if !derived.incremental() {
        sqlx::query!(
            "INSERT INTO resource_votes (resource_id, user_id, voted_at)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[])
             ON CONFLICT DO NOTHING",
            &resources,
            &voters,
            &times
        )
        .execute(&mut *tx)
        .await?;
        return Ok(resources);
    }
    // A vote already counted (a redelivery) inserts nothing and so counts
    // nothing. Each vote finds its resource's author by primary key.
    probe_by_key(tx).await?;
    let counted = sqlx::query!(
        r#"WITH cast_votes AS (
               INSERT INTO resource_votes (resource_id, user_id, voted_at)
               SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[])
               ON CONFLICT DO NOTHING
               RETURNING resource_id
           ), karma AS (
               INSERT INTO resource_karma AS k (user_id, votes)
               SELECT r.author_id, count(*)::int
               FROM cast_votes v JOIN resources r ON r.id = v.resource_id
               WHERE r.source_id IS NULL
               GROUP BY r.author_id
               ON CONFLICT (user_id) DO UPDATE SET votes = k.votes + EXCLUDED.votes
           )
           INSERT INTO resource_vote_counts AS c (resource_id, votes)
           SELECT resource_id, count(*)::int FROM cast_votes GROUP BY resource_id
           ON CONFLICT (resource_id) DO UPDATE SET votes = c.votes + EXCLUDED.votes
           RETURNING resource_id, votes"#,
        &resources,
        &voters,
        &times
    )
    .fetch_all(&mut *tx)
    .await?;
    plan_freely(tx).await?;
    let counted: Vec<(Uuid, i32)> = counted.iter().map(|c| (c.resource_id, c.votes)).collect();
    derived.rescore(tx, &counted).await?;
    Ok(counted.into_iter().map(|(id, _)| id).collect())
}

pub(super) async fn withdraw(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
    derived: DerivedRows,
) -> sqlx::Result<Vec<Uuid>> {
    let (resources, voters, _) = votes_of(events);
    if !derived.incremental() {
        sqlx::query!(
            "DELETE FROM resource_votes v
             USING UNNEST($1::uuid[], $2::uuid[]) AS b (resource_id, user_id)
             WHERE v.resource_id = b.resource_id AND v.user_id = b.user_id",
            &resources,
            &voters
        )
        .execute(&mut *tx)
        .await?;
        return Ok(resources);
    }
    // A count that falls to zero goes: a resource without votes has no
    // count row, a member whose resources have none no karma row. Both
    // branches of each see the rows as they were, and take different rows.
    probe_by_key(tx).await?;
    let uncounted = sqlx::query!(
        r#"WITH withdrawn AS (
               DELETE FROM resource_votes v
               USING UNNEST($1::uuid[], $2::uuid[]) AS b (resource_id, user_id)
               WHERE v.resource_id = b.resource_id AND v.user_id = b.user_id
               RETURNING v.resource_id
           ), lost AS (
               SELECT resource_id, count(*)::int AS n FROM withdrawn GROUP BY resource_id
           ), emptied AS (
               DELETE FROM resource_vote_counts c USING lost
               WHERE c.resource_id = lost.resource_id AND c.votes <= lost.n
               RETURNING c.resource_id
           ), lowered AS (
               UPDATE resource_vote_counts c SET votes = c.votes - lost.n FROM lost
               WHERE c.resource_id = lost.resource_id AND c.votes > lost.n
               RETURNING c.resource_id, c.votes
           ), lost_karma AS (
               SELECT r.author_id, sum(lost.n)::int AS n
               FROM lost JOIN resources r ON r.id = lost.resource_id
               WHERE r.source_id IS NULL
               GROUP BY r.author_id
           ), karma_emptied AS (
               DELETE FROM resource_karma k USING lost_karma l
               WHERE k.user_id = l.author_id AND k.votes <= l.n
           ), karma_lowered AS (
               UPDATE resource_karma k SET votes = k.votes - l.n FROM lost_karma l
               WHERE k.user_id = l.author_id AND k.votes > l.n
           )
           SELECT resource_id AS "resource_id!", 0 AS "votes!" FROM emptied
           UNION ALL
           SELECT resource_id, votes FROM lowered"#,
        &resources,
        &voters
    )
    .fetch_all(&mut *tx)
    .await?;
    plan_freely(tx).await?;
    let uncounted: Vec<(Uuid, i32)> = uncounted.iter().map(|c| (c.resource_id, c.votes)).collect();
    derived.rescore(tx, &uncounted).await?;
    Ok(uncounted.into_iter().map(|(id, _)| id).collect())
}
