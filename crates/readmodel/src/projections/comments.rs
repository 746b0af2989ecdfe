//! Projection "comments": threads of comments per resource, the votes on
//! each comment, and the karma those votes earn the comments' authors.

use resourcify_domain::DomainEvent;
use resourcify_domain::comment::CommentEvent;
use resourcify_domain::comment_vote::CommentVoteEvent;
use resourcify_domain::user::UserEvent;
use serde_json::Value;
use sqlx::PgConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Posted,
    Edited,
    Gone,
    /// The author was erased: their texts go (a replay, with their key
    /// destroyed, reads them as empty), their comments keep their places.
    AuthorErased,
    /// A vote cast, or turned the other way.
    VoteCast,
    VoteWithdrawn,
}

pub(super) fn change_of(event: &DomainEvent) -> Option<Change> {
    match event {
        DomainEvent::Comment(CommentEvent::Posted(_)) => Some(Change::Posted),
        DomainEvent::Comment(CommentEvent::Edited(_)) => Some(Change::Edited),
        DomainEvent::Comment(CommentEvent::Deleted(_) | CommentEvent::Removed(_)) => {
            Some(Change::Gone)
        }
        DomainEvent::User(UserEvent::Deleted(_)) => Some(Change::AuthorErased),
        DomainEvent::CommentVote(CommentVoteEvent::Cast(_)) => Some(Change::VoteCast),
        DomainEvent::CommentVote(CommentVoteEvent::Withdrawn(_)) => Some(Change::VoteWithdrawn),
        _ => None,
    }
}

/// The notice's keys are resource ids: a change to a comment changes its resource's thread.
pub(super) const KEY: &str = "resource_id";

/// Applies one run of `change` with one set-based statement over its
/// rows ([`super::Run::rows`]); answers the keys it changed that the rows
/// do not name (for most changes, none).
pub(super) async fn write(
    tx: &mut PgConnection,
    change: Change,
    rows: Value,
) -> sqlx::Result<Vec<String>> {
    let statement = match change {
        // A comment's path is its parent's path and its own position;
        // a reply may arrive in the same batch as its parent, so paths
        // are worked out down each thread of the batch.
        Change::Posted => sqlx::query!(
            "WITH RECURSIVE b AS (
                     SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
                         comment_id uuid, resource_id uuid, parent_id uuid, author_id uuid,
                         body text, at timestamptz, ord bigint)
                 ), placed (comment_id, path, depth) AS (
                     SELECT b.comment_id,
                            coalesce(p.path || '.', '') || lpad(b.ord::text, 20, '0'),
                            coalesce(p.depth + 1, 0)
                     FROM b LEFT JOIN comments p ON p.id = b.parent_id
                     WHERE b.parent_id IS NULL OR p.id IS NOT NULL
                     UNION ALL
                     SELECT c.comment_id, placed.path || '.' || lpad(c.ord::text, 20, '0'),
                            placed.depth + 1
                     FROM b c JOIN placed ON c.parent_id = placed.comment_id
                 )
                 INSERT INTO comments (id, resource_id, parent_id, author_id, body, path, depth,
                                       posted_at)
                 SELECT b.comment_id, b.resource_id, b.parent_id, b.author_id, b.body,
                        placed.path, placed.depth, b.at
                 FROM b JOIN placed USING (comment_id)
                 ON CONFLICT (id) DO NOTHING",
            rows
        ),
        Change::Edited => sqlx::query!(
            "UPDATE comments c SET body = b.body, edited_at = b.at
                 FROM (SELECT DISTINCT ON (comment_id) * FROM jsonb_to_recordset($1::jsonb) AS b(
                           comment_id uuid, body text, at timestamptz, ord bigint)
                       ORDER BY comment_id, ord DESC) b
                 WHERE c.id = b.comment_id AND NOT c.gone",
            rows
        ),
        // The threads it changes are known only once it ran.
        Change::AuthorErased => {
            let threads = sqlx::query_scalar!(
                r#"UPDATE comments c SET gone = true, body = ''
                       FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                       WHERE c.author_id = b.user_id AND NOT c.gone
                       RETURNING c.resource_id::text AS "resource_id!""#,
                rows
            )
            .fetch_all(&mut *tx)
            .await?;
            return Ok(threads);
        }
        // Each vote moves its comment's counts and its author's karma by
        // the difference from what the pair held before (nothing, or the
        // other way); within a run only a pair's last vote counts. A
        // vote on a comment since deleted or removed still counts (see
        // `resourcify_domain::karma`).
        Change::VoteCast => sqlx::query!(
            r#"WITH b AS (
                   SELECT DISTINCT ON (comment_id, user_id) *
                   FROM jsonb_to_recordset($1::jsonb) AS b(
                       comment_id uuid, user_id uuid, direction text, at timestamptz, ord bigint)
                   ORDER BY comment_id, user_id, ord DESC
               ), before AS (
                   SELECT b.comment_id, b.user_id, v.up AS was_up
                   FROM b LEFT JOIN comment_votes v
                     ON v.comment_id = b.comment_id AND v.user_id = b.user_id
               ), stored AS (
                   INSERT INTO comment_votes AS v (comment_id, user_id, up, voted_at)
                   SELECT comment_id, user_id, direction = 'up', at FROM b
                   ON CONFLICT (comment_id, user_id)
                   DO UPDATE SET up = EXCLUDED.up, voted_at = EXCLUDED.voted_at
                   WHERE v.up <> EXCLUDED.up
                   RETURNING v.comment_id, v.user_id, v.up
               ), moved AS (
                   SELECT s.comment_id,
                          (count(*) FILTER (WHERE s.up)
                           - count(*) FILTER (WHERE b.was_up))::int AS ups,
                          (count(*) FILTER (WHERE NOT s.up)
                           - count(*) FILTER (WHERE NOT b.was_up))::int AS downs
                   FROM stored s JOIN before b USING (comment_id, user_id)
                   GROUP BY s.comment_id
               ), counted AS (
                   UPDATE comments c
                   SET upvotes = c.upvotes + m.ups, downvotes = c.downvotes + m.downs
                   FROM moved m WHERE c.id = m.comment_id
                   RETURNING c.author_id, m.ups - m.downs AS karma
               )
               INSERT INTO comment_karma AS k (user_id, karma)
               SELECT author_id, sum(karma)::int FROM counted GROUP BY author_id
               ON CONFLICT (user_id) DO UPDATE SET karma = k.karma + EXCLUDED.karma"#,
            rows
        ),
        Change::VoteWithdrawn => sqlx::query!(
            r#"WITH withdrawn AS (
                   DELETE FROM comment_votes v
                   USING (SELECT DISTINCT comment_id, user_id
                          FROM jsonb_to_recordset($1::jsonb) AS b(comment_id uuid, user_id uuid)) b
                   WHERE v.comment_id = b.comment_id AND v.user_id = b.user_id
                   RETURNING v.comment_id, v.up
               ), moved AS (
                   SELECT comment_id, count(*) FILTER (WHERE up)::int AS ups,
                          count(*) FILTER (WHERE NOT up)::int AS downs
                   FROM withdrawn GROUP BY comment_id
               ), counted AS (
                   UPDATE comments c
                   SET upvotes = c.upvotes - m.ups, downvotes = c.downvotes - m.downs
                   FROM moved m WHERE c.id = m.comment_id
                   RETURNING c.author_id, m.downs - m.ups AS karma
               )
               INSERT INTO comment_karma AS k (user_id, karma)
               SELECT author_id, sum(karma)::int FROM counted GROUP BY author_id
               ON CONFLICT (user_id) DO UPDATE SET karma = k.karma + EXCLUDED.karma"#,
            rows
        ),
        Change::Gone => sqlx::query!(
            "UPDATE comments c SET gone = true, body = ''
                 FROM jsonb_to_recordset($1::jsonb) AS b(comment_id uuid)
                 WHERE c.id = b.comment_id",
            rows
        ),
    };
    statement.execute(&mut *tx).await?;
    Ok(Vec::new())
}
