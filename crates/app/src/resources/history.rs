//! A resource's history: its edits, each with who made it and what it
//! changed (field, before, after), from the history view. Seen by whoever
//! may see the resource.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use resourcify_domain::resource::revision::{FieldChange, Revision, changes};
use resourcify_readmodel::RevisionRow;
use resourcify_readmodel::projections::Projection;
use uuid::Uuid;

use super::Resources;
use crate::cursor::Cursor;
use crate::error::AppError;
use crate::paging::{Page, PageRequest, paging, wrong_cursor};
use crate::views::{CacheOutcome, RenderedView};

/// The order of a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryOrder {
    /// The latest edit first (the default).
    #[default]
    Newest,
    /// The first edit first.
    Oldest,
}

impl HistoryOrder {
    fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Oldest => "oldest",
        }
    }
}

/// One edit of a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The edit's stream position.
    pub position: i64,
    pub at: DateTime<Utc>,
    pub editor_id: Uuid,
    /// `None` once the editor's account was erased.
    pub editor_username: Option<String>,
    /// The fields it changed, in the order title, description, tags, kind.
    pub changes: Vec<FieldChange>,
}

impl From<RevisionRow> for HistoryEntry {
    fn from(row: RevisionRow) -> Self {
        let after = Revision {
            title: &row.title,
            description: &row.description,
            tags: &row.tags,
            kind: &row.kind,
        };
        let before = match (
            &row.before_title,
            &row.before_description,
            &row.before_tags,
            &row.before_kind,
        ) {
            (Some(title), Some(description), Some(tags), Some(kind)) => Some(Revision {
                title,
                description,
                tags,
                kind,
            }),
            _ => None,
        };
        let changes = changes(before.as_ref(), &after);
        Self {
            position: row.position,
            at: row.at,
            editor_id: row.editor_id,
            editor_username: row.editor_username,
            changes,
        }
    }
}

impl Resources {
    /// A page of the edits of a resource everyone may see (a hidden or
    /// retracted one is not found, as its detail), rendered by `render`,
    /// from memory when possible.
    #[tracing::instrument(level = "debug", skip(self, render))]
    pub async fn history_view(
        &self,
        resource_id: Uuid,
        order: HistoryOrder,
        page: PageRequest<'_>,
        min_position: Option<u64>,
        render: impl FnOnce(&Page<HistoryEntry>) -> Bytes,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let paging = paging(page)?;
        let from = match (order, &paging.cursor) {
            (HistoryOrder::Newest, None) => i64::MAX,
            (HistoryOrder::Oldest, None) => 0,
            (HistoryOrder::Newest, Some(Cursor::Before(before))) => *before,
            (HistoryOrder::Oldest, Some(Cursor::After(after))) => *after,
            _ => return Err(wrong_cursor()),
        };
        // The same rule as the resource itself, asked of the resources view
        // on every read (a primary-key lookup), as comments do.
        self.core.public_resource(resource_id, min_position).await?;
        let key = format!(
            "history {resource_id} {} {} {}",
            order.as_str(),
            paging.limit,
            page.cursor.unwrap_or("")
        );
        let core = &self.core;
        core.cached(
            &core.views().histories,
            &[Projection::History],
            key,
            min_position,
            async move |reads| {
                let rows = match order {
                    HistoryOrder::Newest => {
                        reads
                            .resource_history_newest(resource_id, from, paging.fetch())
                            .await?
                    }
                    HistoryOrder::Oldest => {
                        reads
                            .resource_history_oldest(resource_id, from, paging.fetch())
                            .await?
                    }
                };
                let entries: Vec<HistoryEntry> = rows.into_iter().map(HistoryEntry::from).collect();
                Ok(paging.rendered(
                    entries,
                    |last| match order {
                        HistoryOrder::Newest => Cursor::Before(last.position),
                        HistoryOrder::Oldest => Cursor::After(last.position),
                    },
                    render,
                ))
            },
        )
        .await
    }
}
