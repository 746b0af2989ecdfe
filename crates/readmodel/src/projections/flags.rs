//! Projection "flags": the open flags on resources and comments, and the
//! moderation queue (`GET /v1/moderation/queue`): one entry per flagged
//! thing with its count of open flags and whether they hold it for review.
//!
//! Whether a flag starts a hold was decided by the domain and is in the
//! event (ADR 21), so this reads no setting and a replay builds the same
//! queue. An entry goes when a moderator decides (keeps it, hides the
//! resource, removes the comment), when the thing goes (retracted,
//! deleted), or when its last flag is withdrawn before any hold. Flags are
//! rare next to votes, and each one moves its entry: they are applied one
//! event at a time, in order.

use resourcify_domain::DomainEvent;
use resourcify_domain::comment::CommentEvent;
use resourcify_domain::flag::FlagEvent;
use resourcify_domain::resource::ResourceEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Positioned, position};

/// What an event does to the queue.
enum Change<'a> {
    Raised(&'a resourcify_domain::flag::FlagRaised),
    Withdrawn {
        target_id: Uuid,
        user_id: Uuid,
    },
    /// The thing's entry and open flags go: a moderator decided, or the
    /// thing is gone.
    Closed(Uuid),
    /// A retracted resource: its entry and its comments' go.
    ResourceGone(Uuid),
}

fn change_of(event: &DomainEvent) -> Option<Change<'_>> {
    Some(match event {
        DomainEvent::Flag(FlagEvent::Raised(e)) => Change::Raised(e),
        DomainEvent::Flag(FlagEvent::Withdrawn(e)) => Change::Withdrawn {
            target_id: e.target_id,
            user_id: e.user_id,
        },
        DomainEvent::Flag(FlagEvent::Dismissed(e)) => Change::Closed(e.target_id),
        // A hide ends the round of flags (`domain::flag`).
        DomainEvent::Resource(ResourceEvent::Hidden(e)) => Change::Closed(e.resource_id),
        DomainEvent::Resource(ResourceEvent::Retracted(e)) => Change::ResourceGone(e.resource_id),
        DomainEvent::Comment(CommentEvent::Removed(e)) => Change::Closed(e.comment_id),
        DomainEvent::Comment(CommentEvent::Deleted(e)) => Change::Closed(e.comment_id),
        _ => return None,
    })
}

/// Applies a batch; answers the notice's keys: the flagged things whose
/// entries changed.
pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
) -> sqlx::Result<Vec<String>> {
    let mut touched = Vec::new();
    for event in events {
        let Some(change) = change_of(event.event) else {
            continue;
        };
        let target = match change {
            Change::Raised(e) => {
                raise(tx, e, position(event)).await?;
                e.target_id
            }
            Change::Withdrawn { target_id, user_id } => {
                withdraw(tx, target_id, user_id).await?;
                target_id
            }
            Change::Closed(target_id) => {
                sqlx::query!(
                    "WITH entry AS (DELETE FROM flag_queue WHERE target_id = $1)
                     DELETE FROM flags WHERE target_id = $1",
                    target_id
                )
                .execute(&mut *tx)
                .await?;
                target_id
            }
            Change::ResourceGone(resource_id) => {
                sqlx::query!(
                    "WITH gone AS (
                         DELETE FROM flag_queue WHERE resource_id = $1 RETURNING target_id
                     )
                     DELETE FROM flags f USING gone WHERE f.target_id = gone.target_id",
                    resource_id
                )
                .execute(&mut *tx)
                .await?;
                resource_id
            }
        };
        touched.push(target.to_string());
    }
    Ok(touched)
}

/// Records the flag, and opens or counts up its thing's entry.
async fn raise(
    tx: &mut PgConnection,
    e: &resourcify_domain::flag::FlagRaised,
    position: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "WITH flagged AS (
             INSERT INTO flags (target_id, target_kind, user_id, reason, at)
             VALUES ($1, $5, $2, $3, $4)
             ON CONFLICT (target_id, user_id) DO NOTHING
             RETURNING target_id
         )
         INSERT INTO flag_queue AS q
             (target_id, target_kind, resource_id, flags, held, queued_at, first_flagged_at)
         SELECT target_id, $5, $6, 1, $7, $8, $4 FROM flagged
         ON CONFLICT (target_id)
         DO UPDATE SET flags = q.flags + 1, held = q.held OR EXCLUDED.held",
        e.target_id,
        e.user_id,
        e.reason.as_str(),
        e.at,
        e.target.as_str(),
        e.resource_id,
        e.held,
        position
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Forgets the flag and counts its entry down; an entry with no flag left
/// and no hold goes.
async fn withdraw(tx: &mut PgConnection, target_id: Uuid, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "WITH unflagged AS (
             DELETE FROM flags WHERE target_id = $1 AND user_id = $2 RETURNING target_id
         )
         UPDATE flag_queue q SET flags = q.flags - 1
         FROM unflagged u WHERE q.target_id = u.target_id",
        target_id,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    // A second statement: one cannot change a row twice in one.
    sqlx::query!(
        "DELETE FROM flag_queue WHERE target_id = $1 AND flags = 0 AND NOT held",
        target_id
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
