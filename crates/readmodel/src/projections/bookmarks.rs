//! Projection "bookmarks": each user's bookmarks, newest first.

use super::{RunStatement, Statement};
use resourcify_domain::DomainEvent;
use resourcify_domain::bookmark::BookmarkEvent;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Added,
    Removed,
}

pub(super) fn change_of(event: &DomainEvent) -> Option<Change> {
    match event {
        DomainEvent::Bookmark(BookmarkEvent::Added(_)) => Some(Change::Added),
        DomainEvent::Bookmark(BookmarkEvent::Removed(_)) => Some(Change::Removed),
        _ => None,
    }
}

/// The notice's keys are user ids: a bookmark changes only its user's list.
pub(super) const KEY: &str = "user_id";

impl RunStatement for Change {
    fn statement(self, rows: Value) -> Statement {
        match self {
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
        }
    }
}
