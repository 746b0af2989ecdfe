//! Projection "resources": resources with their vote counts, every list
//! they appear in, tag counts, their authors' public names, and the public
//! moderation log. A resource held for review by its flags (ADR 21) leaves
//! every list as a hidden one does, until a moderator keeps or hides it.

use resourcify_domain::DomainEvent;
use resourcify_domain::comment::CommentEvent;
use resourcify_domain::flag::{FlagEvent, FlagTarget};
use resourcify_domain::resource::ResourceEvent;
use resourcify_domain::user::UserEvent;
use resourcify_domain::vote::VoteEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Positioned, Upkeep, keys, runs};

mod arrivals;
mod lists;
mod votes;

use lists::DerivedRows;
pub(super) use lists::derive;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    AuthorRegistered,
    AuthorDeleted,
    Submitted,
    Edited,
    Retracted,
    Hidden,
    Restored,
    NewsItemPublished,
    VoteCast,
    VoteWithdrawn,
    CommentRemoved,
    /// The flag that put a resource on hold for review.
    Held,
    /// A moderator kept a flagged resource or comment.
    FlagsDismissed,
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
            ResourceEvent::NewsItemPublished(_) => Change::NewsItemPublished,
        },
        DomainEvent::Vote(VoteEvent::Cast(_)) => Change::VoteCast,
        DomainEvent::Vote(VoteEvent::Withdrawn(_)) => Change::VoteWithdrawn,
        DomainEvent::Comment(CommentEvent::Removed(_)) => Change::CommentRemoved,
        DomainEvent::Flag(FlagEvent::Raised(e)) if e.held && e.target == FlagTarget::Resource => {
            Change::Held
        }
        DomainEvent::Flag(FlagEvent::Dismissed(_)) => Change::FlagsDismissed,
        _ => return None,
    })
}

pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
    upkeep: Upkeep,
) -> sqlx::Result<Vec<String>> {
    let derived = DerivedRows(upkeep);
    let mut touched: Vec<Uuid> = Vec::new();
    for run in runs(events, change_of) {
        let changed: Vec<Uuid> = match run.kind {
            Change::AuthorRegistered => {
                sqlx::query!(
                    "INSERT INTO resource_authors (user_id, username)
                     SELECT user_id, username
                     FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid, username text)
                     ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username",
                    run.rows()
                )
                .execute(&mut *tx)
                .await?;
                Vec::new()
            }
            // The name goes; every view of the author's resources changes.
            // The row goes too (a missing author reads as a nameless one):
            // a replay after an erasure never sees the registration whose
            // plaintext the erasure deleted, so it has no row either.
            Change::AuthorDeleted => {
                sqlx::query_scalar!(
                    r#"WITH b AS (
                           SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(user_id uuid)
                       ), forgotten AS (
                           DELETE FROM resource_authors a
                           USING b WHERE a.user_id = b.user_id
                       )
                       UPDATE resources r SET author_username = NULL
                       FROM b WHERE r.author_id = b.user_id
                       RETURNING r.id"#,
                    run.rows()
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Change::Submitted => arrivals::submit(tx, &run.events, derived).await?,
            Change::NewsItemPublished => {
                arrivals::publish_news_items(tx, &run.events, derived).await?
            }
            Change::VoteCast => votes::cast(tx, &run.events, derived).await?,
            Change::VoteWithdrawn => votes::withdraw(tx, &run.events, derived).await?,
            Change::Edited => {
                let rows = run.rows();
                let in_run = resource_ids(&rows);
                let delisted = derived.delist(tx, &in_run).await?;
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
                           kind = l.kind, updated_at = l.at, version = r.version + e.n,
                           search = resource_search(l.title, l.tags, l.description)
                       FROM latest l JOIN edits e USING (resource_id)
                       WHERE r.id = l.resource_id
                       RETURNING r.id"#,
                    rows
                )
                .fetch_all(&mut *tx)
                .await?;
                derived.relist(tx, &in_run, &delisted).await?;
                ids
            }
            Change::Retracted => {
                let rows = run.rows();
                let in_run = resource_ids(&rows);
                let delisted = derived.delist(tx, &in_run).await?;
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
                derived.relist(tx, &in_run, &delisted).await?;
                ids
            }
            Change::Hidden | Change::Restored => {
                let hidden = run.kind == Change::Hidden;
                let action = if hidden {
                    "resource.hidden"
                } else {
                    "resource.restored"
                };
                let rows = run.rows();
                let in_run = resource_ids(&rows);
                let delisted = derived.delist(tx, &in_run).await?;
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
                     SET hidden = $2, held = r.held AND NOT $2, updated_at = b.at,
                         version = r.version + 1
                     FROM b
                     WHERE r.id = b.resource_id AND r.hidden <> $2
                     RETURNING r.id",
                    rows,
                    hidden,
                    action
                )
                .fetch_all(&mut *tx)
                .await?;
                derived.relist(tx, &in_run, &delisted).await?;
                ids
            }
            Change::CommentRemoved => {
                sqlx::query!(
                    "INSERT INTO moderation_log
                         (position, action, subject_kind, subject_id, reason, moderator_id, at)
                     SELECT ord, 'comment.removed', 'comment', comment_id, reason, moderator_id, at
                     FROM jsonb_to_recordset($1::jsonb) AS b(
                         comment_id uuid, reason text, moderator_id uuid, at timestamptz, ord bigint)
                     ON CONFLICT (position) DO NOTHING",
                    run.rows()
                )
                .execute(&mut *tx)
                .await?;
                Vec::new()
            }
            Change::Held | Change::FlagsDismissed => {
                held_or_kept(tx, run.kind == Change::Held, run.rows(), derived).await?
            }
        };
        touched.extend(changed);
    }
    Ok(touched.iter().map(ToString::to_string).collect())
}

/// The resources a run of resource events is about.
fn resource_ids(rows: &serde_json::Value) -> Vec<Uuid> {
    keys(rows, "resource_id")
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// Holds resources for review, or ends their hold (a moderator kept them,
/// which goes to the moderation log, comments' too): a held resource is in
/// no list. A hold is not a change to the resource: its version stays.
async fn held_or_kept(
    tx: &mut PgConnection,
    held: bool,
    rows: serde_json::Value,
    derived: DerivedRows,
) -> sqlx::Result<Vec<Uuid>> {
    let in_run = resource_ids(&rows);
    let delisted = derived.delist(tx, &in_run).await?;
    let ids = sqlx::query_scalar!(
        "WITH b AS (
             SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
                 target text, target_id uuid, reason text, moderator_id uuid, at timestamptz,
                 ord bigint)
         ), logged AS (
             INSERT INTO moderation_log
                 (position, action, subject_kind, subject_id, reason, moderator_id, at)
             SELECT ord, 'flags.dismissed', target, target_id, reason, moderator_id, at
             FROM b WHERE NOT $2
             ON CONFLICT (position) DO NOTHING
         )
         UPDATE resources r SET held = $2
         FROM b
         WHERE b.target = 'resource' AND r.id = b.target_id AND r.held <> $2
         RETURNING r.id",
        rows,
        held
    )
    .fetch_all(&mut *tx)
    .await?;
    derived.relist(tx, &in_run, &delisted).await?;
    Ok(ids)
}
