//! Projection "bookmarks": each user's bookmarks, newest first.

use resourcify_domain::DomainEvent;
use resourcify_domain::bookmark::BookmarkEvent;
use sqlx::PgConnection;

use super::{Positioned, keys, runs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Added,
    Removed,
}

fn change_of(event: &DomainEvent) -> Option<Change> {
    match event {
        DomainEvent::Bookmark(BookmarkEvent::Added(_)) => Some(Change::Added),
        DomainEvent::Bookmark(BookmarkEvent::Removed(_)) => Some(Change::Removed),
        _ => None,
    }
}

/// Keys are user ids: a bookmark changes only its user's list.
pub(super) async fn apply(
    tx: &mut PgConnection,
    events: &[Positioned<'_>],
) -> sqlx::Result<Vec<String>> {
    let mut touched = Vec::new();
    for run in runs(events, change_of) {
        let rows = run.rows();
        touched.extend(keys(&rows, "user_id"));
        let statement = match run.kind {
            Change::Added => sqlx::query!(
                "INSERT INTO bookmarks (user_id, resource_id, position, bookmarked_at)
                 SELECT user_id, resource_id, ord, at
                 FROM jsonb_to_recordset($1::jsonb) AS b(
                     user_id uuid, resource_id uuid, at timestamptz, ord bigint)
                 ON CONFLICT (user_id, resource_id) DO NOTHING",
                rows
            ),
            Change::Removed => sqlx::query!(
                "DELETE FROM bookmarks k
                 USING jsonb_to_recordset($1::jsonb) AS b(user_id uuid, resource_id uuid)
                 WHERE k.user_id = b.user_id AND k.resource_id = b.resource_id",
                rows
            ),
        };
        statement.execute(&mut *tx).await?;
    }
    Ok(touched)
}
