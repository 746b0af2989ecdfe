//! Comments on the wire: new ones, edits, votes, threads.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use resourcify_domain::comment_vote::VoteDirection as Direction;
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

/// Which way a vote on a comment goes.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum VoteDirection {
    Up,
    Down,
}

impl From<VoteDirection> for Direction {
    fn from(direction: VoteDirection) -> Self {
        match direction {
            VoteDirection::Up => Self::Up,
            VoteDirection::Down => Self::Down,
        }
    }
}

/// A vote on a comment: one per member, which a later vote turns.
#[derive(Debug, Object)]
#[oai(example)]
pub struct CommentVote {
    pub direction: VoteDirection,
}

impl Example for CommentVote {
    fn example() -> Self {
        Self {
            direction: VoteDirection::Up,
        }
    }
}

/// The order of a thread. Replies always stay under their parent; the
/// order says how siblings follow one another.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ThreadSort {
    /// By the lower bound of the Wilson score interval (z = 1.96) of their
    /// share of upvotes, highest first; equal scores oldest first.
    Top,
    /// Newest first.
    New,
}

impl From<ThreadSort> for resourcify_app::ThreadOrder {
    fn from(sort: ThreadSort) -> Self {
        match sort {
            ThreadSort::Top => Self::Top,
            ThreadSort::New => Self::New,
        }
    }
}

/// A comment in thread order: `depth` 0 is top-level, replies follow their
/// parent.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Comment {
    pub id: Uuid,
    /// The resource it is on.
    pub resource_id: Uuid,
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
    /// Upvotes less downvotes.
    pub votes: i32,
    pub upvotes: u32,
    pub downvotes: u32,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CommentList {
    pub items: Vec<Comment>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<&resourcify_app::CommentRow> for Comment {
    fn from(c: &resourcify_app::CommentRow) -> Self {
        Self {
            id: c.id,
            resource_id: c.resource_id,
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
            votes: c.upvotes - c.downvotes,
            upvotes: c.upvotes.max(0) as u32,
            downvotes: c.downvotes.max(0) as u32,
        }
    }
}

impl From<&resourcify_app::Page<resourcify_app::CommentRow>> for CommentList {
    fn from(page: &resourcify_app::Page<resourcify_app::CommentRow>) -> Self {
        Self {
            items: page.items.iter().map(Comment::from).collect(),
            next_cursor: page.next_cursor.clone(),
        }
    }
}
