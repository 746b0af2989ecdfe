//! A resource's history: its edits and what each changed.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use resourcify_app::{HistoryEntry, Page};
use resourcify_domain::resource::revision::{FieldChange, FieldValue};
use serde_json::Value;
use uuid::Uuid;

/// The order of a history.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum HistoryOrder {
    /// The latest edit first (the default).
    Newest,
    /// The first edit first.
    Oldest,
}

impl From<HistoryOrder> for resourcify_app::HistoryOrder {
    fn from(order: HistoryOrder) -> Self {
        match order {
            HistoryOrder::Newest => Self::Newest,
            HistoryOrder::Oldest => Self::Oldest,
        }
    }
}

/// Who made an edit.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Editor {
    pub user_id: Uuid,
    /// Absent once the member has deleted their account.
    pub username: Option<String>,
}

/// One field an edit changed.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Change {
    /// `title`, `description`, `tags` or `kind` (a resource's URL never
    /// changes).
    pub field: String,
    /// The value before the edit: a string, or for `tags` an array of
    /// strings. Absent only if the revision before is unknown.
    pub before: Option<Value>,
    /// The value after the edit, in the same form.
    pub after: Value,
}

impl From<&FieldChange> for Change {
    fn from(change: &FieldChange) -> Self {
        let json = |value: &FieldValue| match value {
            FieldValue::Text(text) => Value::from(text.as_str()),
            FieldValue::Tags(tags) => Value::from(tags.clone()),
        };
        Self {
            field: change.field.to_owned(),
            before: change.before.as_ref().map(json),
            after: json(&change.after),
        }
    }
}

/// One edit of a resource.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Edit {
    /// The edit's position in the log.
    pub position: u64,
    pub at: DateTime<Utc>,
    pub editor: Editor,
    /// What it changed, in the order title, description, tags, kind.
    pub changes: Vec<Change>,
}

/// A page of a resource's edits.
#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct ResourceHistory {
    pub items: Vec<Edit>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl Example for ResourceHistory {
    fn example() -> Self {
        Self {
            items: vec![Edit {
                position: 4242,
                at: DateTime::<Utc>::UNIX_EPOCH,
                editor: Editor {
                    user_id: Uuid::nil(),
                    username: Some("ada".into()),
                },
                changes: vec![Change {
                    field: "title".into(),
                    before: Some("The Rust Book".into()),
                    after: "The Rust Programming Language".into(),
                }],
            }],
            next_cursor: Some("djI6bjo0MjQy".into()),
        }
    }
}

impl From<&Page<HistoryEntry>> for ResourceHistory {
    fn from(page: &Page<HistoryEntry>) -> Self {
        Self {
            items: page
                .items
                .iter()
                .map(|entry| Edit {
                    position: u64::try_from(entry.position).unwrap_or(0),
                    at: entry.at,
                    editor: Editor {
                        user_id: entry.editor_id,
                        username: entry.editor_username.clone(),
                    },
                    changes: entry.changes.iter().map(Change::from).collect(),
                })
                .collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}
