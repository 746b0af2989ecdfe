//! Projection "notifications": each member's inbox, for
//! `GET /v1/me/notifications` and its stream. A reply tells the parent
//! comment's author, a top-level comment the resource's submitter, an
//! `@username` in a comment or a description the member named
//! (`domain::mention`), a moderator's hiding or restoring the submitter;
//! never oneself, and never from a suspended or erased member. A deleted or
//! removed comment's notifications go, and so do a member's of others once
//! they are suspended or erased (a replay, reading the same events in the
//! same order, leaves the same rows).

use resourcify_domain::DomainEvent;
use resourcify_domain::comment::CommentEvent;
use resourcify_domain::mention::mentions;
use resourcify_domain::resource::ResourceEvent;
use resourcify_domain::user::UserEvent;
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::{Positioned, position, runs, submissions};
use crate::batch_plans::{plan_freely, probe_by_key};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Registered,
    Suspended,
    Reinstated,
    /// The member is erased: told nothing more, named nowhere, and what
    /// they did notifies no one.
    Erased,
    Read,
    Submitted,
    NewsPublished,
    Edited,
    /// Hidden or restored by a moderator.
    Moderated,
    CommentPosted,
    CommentEdited,
    CommentGone,
}

fn change_of(event: &DomainEvent) -> Option<Change> {
    Some(match event {
        DomainEvent::User(e) => match e {
            UserEvent::Registered(_) => Change::Registered,
            UserEvent::Suspended(_) => Change::Suspended,
            UserEvent::Reinstated(_) => Change::Reinstated,
            UserEvent::Deleted(_) => Change::Erased,
            UserEvent::NotificationsRead(_) => Change::Read,
            _ => return None,
        },
        DomainEvent::Resource(e) => match e {
            ResourceEvent::Submitted(_) => Change::Submitted,
            ResourceEvent::NewsItemPublished(_) => Change::NewsPublished,
            ResourceEvent::Edited(_) => Change::Edited,
            ResourceEvent::Hidden(_) | ResourceEvent::Restored(_) => Change::Moderated,
            ResourceEvent::Retracted(_) => return None,
        },
        DomainEvent::Comment(e) => match e {
            CommentEvent::Posted(_) => Change::CommentPosted,
            CommentEvent::Edited(_) => Change::CommentEdited,
            CommentEvent::Deleted(_) | CommentEvent::Removed(_) => Change::CommentGone,
        },
        _ => return None,
    })
}

/// The texts of `events` that may mention members, as rows for
/// [`tell_mentioned`]: one per name mentioned, with who wrote it and where.
fn mention_rows(events: &[Positioned<'_>]) -> Value {
    let mut rows = Vec::new();
    for e in events {
        let (text, actor, resource, comment, at) = match e.event {
            DomainEvent::Resource(ResourceEvent::Submitted(s)) => (
                &s.description,
                Some(s.author_id),
                s.resource_id,
                None,
                s.submitted_at,
            ),
            DomainEvent::Resource(ResourceEvent::Edited(s)) => {
                (&s.description, Some(s.edited_by), s.resource_id, None, s.at)
            }
            DomainEvent::Comment(CommentEvent::Posted(c)) => (
                &c.body,
                Some(c.author_id),
                c.resource_id,
                Some(c.comment_id),
                c.at,
            ),
            // Edits written before sealing name no author: the comment's
            // row does.
            DomainEvent::Comment(CommentEvent::Edited(c)) => (
                &c.body,
                c.author_id,
                c.resource_id,
                Some(c.comment_id),
                c.at,
            ),
            _ => continue,
        };
        for username in mentions(text) {
            rows.push(json!({
                "username": username, "ord": position(e), "actor_id": actor,
                "resource_id": resource, "comment_id": comment, "at": at,
            }));
        }
    }
    Value::Array(rows)
}

/// The hidings and restorings of `events`, as rows for [`tell_submitters`]
/// (the two events have the same fields: the row says which it was).
fn moderation_rows(events: &[Positioned<'_>]) -> Value {
    let rows = events.iter().filter_map(|e| {
        let (kind, resource, moderator, at) = match e.event {
            DomainEvent::Resource(ResourceEvent::Hidden(h)) => {
                ("hidden", h.resource_id, h.moderator_id, h.at)
            }
            DomainEvent::Resource(ResourceEvent::Restored(r)) => {
                ("restored", r.resource_id, r.moderator_id, r.at)
            }
            _ => return None,
        };
        Some(json!({
            "kind": kind, "resource_id": resource, "moderator_id": moderator, "at": at,
            "ord": position(e),
        }))
    });
    Value::Array(rows.collect())
}

/// Applies a batch; answers the notice's keys: the members whose inbox
/// changed.
pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
) -> sqlx::Result<Vec<String>> {
    let mut touched = Vec::new();
    for run in runs(events, change_of) {
        // Each event as JSON, for the statements that take it so; the
        // submissions, the most frequent by far, are bound by column.
        let rows = || run.rows();
        // The deletions join the batch's keys to the notifications, the
        // largest table here: by index probes, never by hashing it whole
        // (ADR 11).
        let deletes = matches!(
            run.kind,
            Change::Suspended | Change::Erased | Change::CommentGone
        );
        if deletes {
            probe_by_key(tx).await?;
        }
        let changed: Vec<String> = match run.kind {
            Change::Registered => {
                sqlx::query!(
                    "INSERT INTO notification_members (user_id, username)
                     SELECT user_id, username
                     FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, username text)
                     ON CONFLICT (user_id) DO NOTHING",
                    rows()
                )
                .execute(&mut *tx)
                .await?;
                Vec::new()
            }
            Change::Suspended => {
                sqlx::query_scalar!(
                    r#"WITH b AS (
                           SELECT user_id FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                       ), standing AS (
                           UPDATE notification_members m SET suspended = true
                           FROM b WHERE m.user_id = b.user_id
                       )
                       DELETE FROM notifications n USING b WHERE n.actor_id = b.user_id
                       RETURNING n.recipient_id::text AS "recipient_id!""#,
                    rows()
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Change::Reinstated => {
                sqlx::query!(
                    "UPDATE notification_members m SET suspended = false
                     FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                     WHERE m.user_id = b.user_id",
                    rows()
                )
                .execute(&mut *tx)
                .await?;
                Vec::new()
            }
            Change::Erased => {
                sqlx::query_scalar!(
                    r#"WITH b AS (
                           SELECT user_id FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                       ), member AS (
                           DELETE FROM notification_members m USING b WHERE m.user_id = b.user_id
                       ), own AS (
                           DELETE FROM notifications n USING b WHERE n.recipient_id = b.user_id
                       )
                       DELETE FROM notifications n USING b WHERE n.actor_id = b.user_id
                       RETURNING n.recipient_id::text AS "recipient_id!""#,
                    rows()
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Change::Read => {
                sqlx::query_scalar!(
                    r#"UPDATE notification_members m
                       SET read_up_to = greatest(m.read_up_to, b.up_to)
                       FROM (SELECT user_id, max(up_to) AS up_to
                             FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, up_to bigint)
                             GROUP BY user_id) b
                       WHERE m.user_id = b.user_id
                       RETURNING m.user_id::text AS "user_id!""#,
                    rows()
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Change::Submitted => {
                submit(tx, &run.events).await?;
                tell_mentioned(tx, mention_rows(&run.events)).await?
            }
            Change::NewsPublished => {
                sqlx::query!(
                    "INSERT INTO notification_resources (resource_id, submitter_id, title)
                     SELECT resource_id, NULL, title
                     FROM jsonb_to_recordset($1::jsonb) AS b(resource_id uuid, title text)
                     ON CONFLICT (resource_id) DO NOTHING",
                    rows()
                )
                .execute(&mut *tx)
                .await?;
                Vec::new()
            }
            Change::Edited => {
                sqlx::query!(
                    "UPDATE notification_resources r SET title = b.title
                     FROM (SELECT DISTINCT ON (resource_id) *
                           FROM jsonb_to_recordset($1::jsonb) AS b(
                               resource_id uuid, title text, ord bigint)
                           ORDER BY resource_id, ord DESC) b
                     WHERE r.resource_id = b.resource_id",
                    rows()
                )
                .execute(&mut *tx)
                .await?;
                tell_mentioned(tx, mention_rows(&run.events)).await?
            }
            Change::Moderated => tell_submitters(tx, moderation_rows(&run.events)).await?,
            Change::CommentPosted => {
                let mut told = tell_of_comments(tx, rows()).await?;
                told.extend(tell_mentioned(tx, mention_rows(&run.events)).await?);
                told
            }
            Change::CommentEdited => tell_mentioned(tx, mention_rows(&run.events)).await?,
            Change::CommentGone => {
                sqlx::query_scalar!(
                    r#"DELETE FROM notifications n
                       USING jsonb_to_recordset($1::jsonb) AS b(comment_id uuid)
                       WHERE n.comment_id = b.comment_id
                       RETURNING n.recipient_id::text AS "recipient_id!""#,
                    rows()
                )
                .fetch_all(&mut *tx)
                .await?
            }
        };
        if deletes {
            plan_freely(tx).await?;
        }
        touched.extend(changed);
    }
    touched.sort_unstable();
    touched.dedup();
    Ok(touched)
}

/// Each submitted resource's submitter and title: the most frequent event
/// here, so one typed array per column, `UNNEST`ed.
async fn submit(tx: &mut PgConnection, events: &[Positioned<'_>]) -> sqlx::Result<()> {
    let submitted = submissions(events);
    let ids: Vec<_> = submitted.iter().map(|(_, s)| s.resource_id).collect();
    let authors: Vec<_> = submitted.iter().map(|(_, s)| s.author_id).collect();
    let titles: Vec<_> = submitted.iter().map(|(_, s)| s.title.clone()).collect();
    sqlx::query!(
        "INSERT INTO notification_resources (resource_id, submitter_id, title)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[])
         ON CONFLICT (resource_id) DO NOTHING",
        &ids,
        &authors,
        &titles,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The comments of a run, and who they tell: a reply its parent's author,
/// a top-level comment the resource's submitter. A reply may arrive in the
/// same run as its parent, so the comments are stored first.
async fn tell_of_comments(tx: &mut PgConnection, rows: Value) -> sqlx::Result<Vec<String>> {
    sqlx::query!(
        "INSERT INTO notification_comments (comment_id, author_id, resource_id)
         SELECT comment_id, author_id, resource_id
         FROM jsonb_to_recordset($1::jsonb) AS b(comment_id uuid, author_id uuid, resource_id uuid)
         ON CONFLICT (comment_id) DO NOTHING",
        rows
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query_scalar!(
        r#"INSERT INTO notifications
               (recipient_id, position, kind, actor_id, resource_id, comment_id, at)
           SELECT coalesce(p.author_id, r.submitter_id), b.ord,
                  CASE WHEN b.parent_id IS NULL THEN 'comment' ELSE 'reply' END,
                  b.author_id, b.resource_id, b.comment_id, b.at
           FROM jsonb_to_recordset($1::jsonb) AS b(
               comment_id uuid, resource_id uuid, parent_id uuid, author_id uuid,
               at timestamptz, ord bigint)
           LEFT JOIN notification_comments p ON p.comment_id = b.parent_id
           LEFT JOIN notification_resources r ON r.resource_id = b.resource_id
           JOIN notification_members recipient
             ON recipient.user_id = CASE WHEN b.parent_id IS NULL THEN r.submitter_id
                                         ELSE p.author_id END
           JOIN notification_members actor ON actor.user_id = b.author_id
           WHERE recipient.user_id <> b.author_id AND NOT actor.suspended
           ON CONFLICT DO NOTHING
           RETURNING recipient_id::text AS "recipient_id!""#,
        rows
    )
    .fetch_all(&mut *tx)
    .await
}

/// Tells each submitter that a moderator hid or restored their resource
/// (unless the moderator is suspended or erased since, or is the submitter).
async fn tell_submitters(tx: &mut PgConnection, rows: Value) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"INSERT INTO notifications
               (recipient_id, position, kind, actor_id, resource_id, comment_id, at)
           SELECT r.submitter_id, b.ord, b.kind, b.moderator_id, b.resource_id, NULL, b.at
           FROM jsonb_to_recordset($1::jsonb) AS b(
               kind text, resource_id uuid, moderator_id uuid, at timestamptz, ord bigint)
           JOIN notification_resources r ON r.resource_id = b.resource_id
           JOIN notification_members recipient ON recipient.user_id = r.submitter_id
           LEFT JOIN notification_members actor ON actor.user_id = b.moderator_id
           WHERE r.submitter_id IS DISTINCT FROM b.moderator_id
             AND (b.moderator_id IS NULL OR (actor.user_id IS NOT NULL AND NOT actor.suspended))
           ON CONFLICT DO NOTHING
           RETURNING recipient_id::text AS "recipient_id!""#,
        rows
    )
    .fetch_all(&mut *tx)
    .await
}

/// Tells each member a text mentions (rows from [`mention_rows`]), unless
/// they wrote it or already heard of this text (as a reply's parent author,
/// say, or from the text before an edit: an edit tells only those it adds).
async fn tell_mentioned(tx: &mut PgConnection, rows: Value) -> sqlx::Result<Vec<String>> {
    if rows.as_array().is_none_or(Vec::is_empty) {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        r#"INSERT INTO notifications
               (recipient_id, position, kind, actor_id, resource_id, comment_id, at)
           SELECT recipient.user_id, b.ord, 'mention', coalesce(b.actor_id, c.author_id),
                  b.resource_id, b.comment_id, b.at
           FROM jsonb_to_recordset($1::jsonb) AS b(
               username text, ord bigint, actor_id uuid, resource_id uuid, comment_id uuid,
               at timestamptz)
           LEFT JOIN notification_comments c ON c.comment_id = b.comment_id
           JOIN notification_members recipient ON recipient.username = b.username
           JOIN notification_members actor ON actor.user_id = coalesce(b.actor_id, c.author_id)
           WHERE recipient.user_id <> actor.user_id AND NOT actor.suspended
           ORDER BY b.ord
           ON CONFLICT DO NOTHING
           RETURNING recipient_id::text AS "recipient_id!""#,
        rows
    )
    .fetch_all(&mut *tx)
    .await
}
