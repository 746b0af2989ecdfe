//! Comments on the wire: new ones, edits, threads.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use poem_openapi::types::Example;
use uuid::Uuid;

use super::resources::Author;

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct NewComment {
    /// 1 to 10,000 characters.
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub body: String,
    /// The comment this one replies to (on the same resource).
    pub parent_id: Option<Uuid>,
}

impl Example for NewComment {
    fn example() -> Self {
        Self {
            body: "Chapter 16 on concurrency is the best I have read.".into(),
            parent_id: None,
        }
    }
}

#[derive(Debug, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CommentPatch {
    /// 1 to 10,000 characters.
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub body: String,
}

impl Example for CommentPatch {
    fn example() -> Self {
        Self {
            body: "Chapter 16 on concurrency is the best I have read (edited).".into(),
        }
    }
}

/// A comment in thread order: `depth` 0 is top-level, replies follow their
/// parent.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Comment {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author: Author,
    /// Empty once deleted or removed.
    pub body: String,
    pub depth: u32,
    pub posted_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// Deleted by its author or removed by a moderator; its place in the
    /// thread stays so replies keep their context.
    pub deleted: bool,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CommentList {
    pub items: Vec<Comment>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<&resourcify_app::Page<resourcify_app::CommentRow>> for CommentList {
    fn from(page: &resourcify_app::Page<resourcify_app::CommentRow>) -> Self {
        Self {
            items: page
                .items
                .iter()
                .map(|c| Comment {
                    id: c.id,
                    parent_id: c.parent_id,
                    author: Author {
                        user_id: c.author_id,
                        username: c.author_username.clone(),
                    },
                    body: c.body.clone(),
                    depth: c.depth.max(0) as u32,
                    posted_at: c.posted_at,
                    edited_at: c.edited_at,
                    deleted: c.gone,
                })
                .collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}
