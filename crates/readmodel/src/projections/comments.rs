//! Projection "comments": threads of comments per resource.

use resourcify_domain::DomainEvent;
use resourcify_domain::comment::CommentEvent;
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
}

pub(super) fn change_of(event: &DomainEvent) -> Option<Change> {
    match event {
        DomainEvent::Comment(CommentEvent::Posted(_)) => Some(Change::Posted),
        DomainEvent::Comment(CommentEvent::Edited(_)) => Some(Change::Edited),
        DomainEvent::Comment(CommentEvent::Deleted(_) | CommentEvent::Removed(_)) => {
            Some(Change::Gone)
        }
        DomainEvent::User(UserEvent::Deleted(_)) => Some(Change::AuthorErased),
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
