//! Votes: who voted for what (`resource_votes`), and how many votes each
//! resource has (`resource_vote_counts`, derived from the former).

use resourcify_domain::DomainEvent;
use resourcify_domain::vote::VoteEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::lists::DerivedRows;
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
    // nothing.
    let counted = sqlx::query!(
        r#"WITH cast_votes AS (
               INSERT INTO resource_votes (resource_id, user_id, voted_at)
               SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[])
               ON CONFLICT DO NOTHING
               RETURNING resource_id
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
    // count row. Both branches see the counts as they were, and take
    // different rows.
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
           )
           SELECT resource_id AS "resource_id!", 0 AS "votes!" FROM emptied
           UNION ALL
           SELECT resource_id, votes FROM lowered"#,
        &resources,
        &voters
    )
    .fetch_all(&mut *tx)
    .await?;
    let uncounted: Vec<(Uuid, i32)> = uncounted.iter().map(|c| (c.resource_id, c.votes)).collect();
    derived.rescore(tx, &uncounted).await?;
    Ok(uncounted.into_iter().map(|(id, _)| id).collect())
}
