//! Projection "resources": resources with their tags and vote counts, their
//! authors' public names, and the public moderation log.

use resourcify_domain::DomainEvent;
use resourcify_domain::comment::CommentEvent;
use resourcify_domain::resource::ResourceEvent;
use resourcify_domain::user::UserEvent;
use resourcify_domain::vote::VoteEvent;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Positioned, runs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    AuthorRegistered,
    AuthorDeleted,
    Submitted,
    Edited,
    Retracted,
    Hidden,
    Restored,
    VoteCast,
    VoteWithdrawn,
    CommentRemoved,
}

fn change_of(event: &DomainEvent) -> Option<Change> {
    Some(match event {
        DomainEvent::User(UserEvent::Registered(_)) => Change::AuthorRegistered,
        DomainEvent::User(UserEvent::Deleted(_)) => Change::AuthorDeleted,
        DomainEvent::Resource(e) => match e {
            ResourceEvent::Submitted(_) => Change::Submitted,
            ResourceEvent::Edited(_) => Change::Edited,
            ResourceEvent::Retracted(_) => Change::Retracted,
            ResourceEvent::Hidden(_) => Change::Hidden,
            ResourceEvent::Restored(_) => Change::Restored,
        },
        DomainEvent::Vote(VoteEvent::Cast(_)) => Change::VoteCast,
        DomainEvent::Vote(VoteEvent::Withdrawn(_)) => Change::VoteWithdrawn,
        DomainEvent::Comment(CommentEvent::Removed(_)) => Change::CommentRemoved,
        _ => return None,
    })
}

pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
) -> sqlx::Result<Vec<String>> {
    let mut touched: Vec<Uuid> = Vec::new();
    for run in runs(events, change_of) {
        let rows = run.rows;
        let changed: Vec<Uuid> = match run.kind {
            Change::AuthorRegistered => {
                sqlx::query!(
                    "INSERT INTO resource_authors (user_id, username)
                     SELECT user_id, username
                     FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, username text)
                     ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username",
                    rows
                )
                .execute(&mut *tx)
                .await?;
                Vec::new()
            }
            // The name goes; every view of the author's resources changes.
            Change::AuthorDeleted => {
                sqlx::query_scalar!(
                    r#"WITH b AS (
                           SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                       ), renamed AS (
                           UPDATE resource_authors a SET username = NULL
                           FROM b WHERE a.user_id = b.user_id
                       )
                       SELECT r.id AS "id!" FROM resources r JOIN b ON r.author_id = b.user_id"#,
                    rows
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Change::Submitted => submit(tx, rows).await?,
            Change::Edited => {
                let ids = sqlx::query_scalar!(
                    r#"WITH b AS (
                           SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
                               resource_id uuid, title text, description text, tags text[],
                               kind text, at timestamptz, ord bigint)
                       ), latest AS (
                           SELECT DISTINCT ON (resource_id) * FROM b ORDER BY resource_id, ord DESC
                       ), edits AS (
                           SELECT resource_id, count(*)::int AS n FROM b GROUP BY resource_id
                       )
                       UPDATE resources r
                       SET title = l.title, description = l.description, tags = l.tags,
                           kind = l.kind, updated_at = l.at, version = r.version + e.n
                       FROM latest l JOIN edits e USING (resource_id)
                       WHERE r.id = l.resource_id
                       RETURNING r.id"#,
                    rows
                )
                .fetch_all(&mut *tx)
                .await?;
                sync_tags(tx, &ids).await?;
                ids
            }
            Change::Retracted => {
                let ids = sqlx::query_scalar!(
                    "UPDATE resources r
                     SET retracted = true, updated_at = b.at, version = r.version + 1
                     FROM jsonb_to_recordset($1::jsonb) AS b(resource_id uuid, at timestamptz)
                     WHERE r.id = b.resource_id AND NOT r.retracted
                     RETURNING r.id",
                    rows
                )
                .fetch_all(&mut *tx)
                .await?;
                sync_tags(tx, &ids).await?;
                ids
            }
            Change::Hidden | Change::Restored => {
                let hidden = run.kind == Change::Hidden;
                let action = if hidden {
                    "resource.hidden"
                } else {
                    "resource.restored"
                };
                let ids = sqlx::query_scalar!(
                    "WITH b AS (
                         SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
                             resource_id uuid, reason text, moderator_id uuid, at timestamptz,
                             ord bigint)
                     ), logged AS (
                         INSERT INTO moderation_log
                             (position, action, subject_kind, subject_id, reason, moderator_id, at)
                         SELECT ord, $3, 'resource', resource_id, reason, moderator_id, at FROM b
                         ON CONFLICT (position) DO NOTHING
                     )
                     UPDATE resources r
                     SET hidden = $2, updated_at = b.at, version = r.version + 1
                     FROM b
                     WHERE r.id = b.resource_id AND r.hidden <> $2
                     RETURNING r.id",
                    rows,
                    hidden,
                    action
                )
                .fetch_all(&mut *tx)
                .await?;
                sync_tags(tx, &ids).await?;
                ids
            }
            Change::VoteCast => {
                sqlx::query_scalar!(
                    "WITH counted AS (
                         INSERT INTO resource_votes (resource_id, user_id, voted_at)
                         SELECT resource_id, user_id, at
                         FROM jsonb_to_recordset($1::jsonb) AS b(
                             resource_id uuid, user_id uuid, at timestamptz)
                         ON CONFLICT DO NOTHING
                         RETURNING resource_id
                     )
                     UPDATE resources r SET votes = r.votes + c.n
                     FROM (SELECT resource_id, count(*)::int AS n FROM counted GROUP BY resource_id) c
                     WHERE r.id = c.resource_id
                     RETURNING r.id",
                    rows
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Change::VoteWithdrawn => {
                sqlx::query_scalar!(
                    "WITH uncounted AS (
                         DELETE FROM resource_votes v
                         USING jsonb_to_recordset($1::jsonb) AS b(resource_id uuid, user_id uuid)
                         WHERE v.resource_id = b.resource_id AND v.user_id = b.user_id
                         RETURNING v.resource_id
                     )
                     UPDATE resources r SET votes = r.votes - c.n
                     FROM (SELECT resource_id, count(*)::int AS n FROM uncounted GROUP BY resource_id) c
                     WHERE r.id = c.resource_id
                     RETURNING r.id",
                    rows
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Change::CommentRemoved => {
                sqlx::query!(
                    "INSERT INTO moderation_log
                         (position, action, subject_kind, subject_id, reason, moderator_id, at)
                     SELECT ord, 'comment.removed', 'comment', comment_id, reason, moderator_id, at
                     FROM jsonb_to_recordset($1::jsonb) AS b(
                         comment_id uuid, reason text, moderator_id uuid, at timestamptz, ord bigint)
                     ON CONFLICT (position) DO NOTHING",
                    rows
                )
                .execute(&mut *tx)
                .await?;
                Vec::new()
            }
        };
        touched.extend(changed);
    }
    Ok(touched.iter().map(ToString::to_string).collect())
}

/// Inserts new resources with one row per tag; `ord` (the stream position)
/// becomes `listed_at`, the newest-first keyset key.
async fn submit(tx: &mut PgConnection, rows: Value) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"WITH batch AS (
               SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
                   resource_id uuid, ord bigint, title text, url text, canonical_url text,
                   description text, tags text[], kind text, author_id uuid,
                   submitted_at timestamptz)
           ), inserted AS (
               INSERT INTO resources (id, listed_at, title, url, canonical_url, description, tags,
                                      kind, author_id, created_at, updated_at, version)
               SELECT resource_id, ord, title, url, canonical_url, description, tags, kind,
                      author_id, submitted_at, submitted_at, 1
               FROM batch
               ON CONFLICT (id) DO NOTHING
               RETURNING id, listed_at, tags
           ), tagged AS (
               INSERT INTO resource_tags (tag, listed_at, resource_id)
               SELECT unnest(tags), listed_at, id FROM inserted
               ON CONFLICT DO NOTHING
           )
           SELECT id AS "id!" FROM inserted"#,
        rows
    )
    .fetch_all(&mut *tx)
    .await
}

/// Makes the per-tag list rows of `ids` match their resources: a row per tag
/// while the resource is visible to everyone, none otherwise.
async fn sync_tags(tx: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query!("DELETE FROM resource_tags WHERE resource_id = ANY($1)", ids)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT INTO resource_tags (tag, listed_at, resource_id)
         SELECT unnest(tags), listed_at, id FROM resources
         WHERE id = ANY($1) AND NOT hidden AND NOT retracted
         ON CONFLICT DO NOTHING",
        ids
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
