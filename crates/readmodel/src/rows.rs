//! Rows returned by the named read queries.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A resource as the resources projection shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRow {
    pub id: Uuid,
    /// Stream position of the submission, the keyset key of every
    /// newest-first list (for bookmarks: of the bookmark).
    pub listed_at: i64,
    pub title: String,
    pub url: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: String,
    pub author_id: Uuid,
    /// `None` once the author deleted their account.
    pub author_username: Option<String>,
    /// For a news item: its source, by id and by title as it was found.
    pub source_id: Option<Uuid>,
    pub source_title: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    pub votes: i32,
    pub hidden: bool,
    pub retracted: bool,
    /// Held for review by members' flags (ADR 21): in no list until a
    /// moderator decides, still there by id.
    pub held: bool,
    /// The score of the list it was read from: the hot score, or the text
    /// rank for a search (part of their keysets); 0 for a single resource.
    pub score: f64,
}

impl ResourceRow {
    /// Whether everyone may see the resource.
    pub fn is_public(&self) -> bool {
        !self.hidden && !self.retracted
    }
}

/// What an access check needs about a session and its user.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionAccess {
    pub user_id: Uuid,
    pub username: String,
    pub roles: Vec<String>,
    pub suspended: bool,
    pub expires_at: DateTime<Utc>,
    pub ended: bool,
}

/// What login checks a password against.
#[derive(Clone, PartialEq)]
pub struct Credentials {
    pub user_id: Uuid,
    pub username: String,
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A tag and how many visible resources carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub tag: String,
    pub resources: i32,
}

/// A comment in thread order.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentRow {
    pub id: Uuid,
    /// The resource it is on.
    pub resource_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_id: Uuid,
    /// `None` once the author deleted their account.
    pub author_username: Option<String>,
    /// Empty once the comment is gone.
    pub body: String,
    pub depth: i32,
    /// The keyset key of the thread's order: the materialised path, or
    /// the `top` or `new` key.
    pub path: String,
    pub posted_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub gone: bool,
    pub upvotes: i32,
    pub downvotes: i32,
}

/// One entry of the public moderation log.
#[derive(Debug, Clone, PartialEq)]
pub struct ModerationEntry {
    pub position: i64,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub reason: String,
    pub moderator_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// One entry of the moderation queue: a flagged resource or comment.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagQueueEntry {
    pub target_id: Uuid,
    /// `resource` or `comment`.
    pub target_kind: String,
    /// The resource flagged, or the one the comment is on.
    pub resource_id: Uuid,
    /// The resource's title; `None` if the resources view has no row.
    pub resource_title: Option<String>,
    /// Open flags.
    pub flags: i32,
    /// Whether the flags hold it for review.
    pub held: bool,
    /// Stream position of the flag that opened the entry.
    pub queued_at: i64,
    pub first_flagged_at: DateTime<Utc>,
    /// Open flags by reason, e.g. `{"spam": 2}`.
    pub reasons: serde_json::Value,
}

/// A public profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub website: String,
    pub registered_at: DateTime<Utc>,
    /// Votes received on the member's resources and comments (see
    /// `resourcify_domain::karma`).
    pub karma: i64,
}

/// One's own account: the profile and one's standing.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub website: String,
    pub registered_at: DateTime<Utc>,
    pub roles: Vec<String>,
    pub suspended: bool,
    /// As [`ProfileRow::karma`].
    pub karma: i64,
}

/// A user someone follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedUser {
    pub user_id: Uuid,
    pub username: String,
}

/// A news source as its admins see it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewsSourceRow {
    pub id: Uuid,
    /// Stream position of the source's addition (the keyset key).
    pub listed_at: i64,
    pub url: String,
    /// The admin's title; `None`: the feed's own is shown.
    pub title: Option<String>,
    pub feed_title: Option<String>,
    pub tags: Vec<String>,
    pub poll_interval_seconds: i32,
    /// `pending` (never polled), `ok` or `failing`.
    pub status: String,
    pub last_error: Option<String>,
    pub last_fetched_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    /// Items found in it so far.
    pub items: i32,
    pub next_fetch_at: DateTime<Utc>,
    pub added_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A source due for polling, and the position the view shows it at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueSource {
    pub id: Uuid,
    pub position: i64,
}

/// A comment as its author exports it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthoredComment {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub parent_id: Option<Uuid>,
    /// Empty once the comment is gone.
    pub body: String,
    pub posted_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub gone: bool,
}

/// A member's upvote.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteRow {
    pub resource_id: Uuid,
    pub voted_at: DateTime<Utc>,
}

/// A vote of a member's on a comment.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentVoteRow {
    pub comment_id: Uuid,
    /// Up, or else down.
    pub up: bool,
    pub voted_at: DateTime<Utc>,
}

/// One of a member's open flags.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagRow {
    pub target_id: Uuid,
    /// `resource` or `comment`.
    pub target_kind: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A member's bookmark, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BookmarkRow {
    pub resource_id: Uuid,
    pub bookmarked_at: DateTime<Utc>,
}

/// A session as its member sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub session_id: Uuid,
    pub started_at: DateTime<Utc>,
    /// The last refresh, or the start if there was none.
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Empty when the login sent none, or before sessions kept it.
    pub user_agent: String,
}

/// One edit of a resource, and the revision it changed.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionRow {
    /// Stream position of the edit (the keyset key).
    pub position: i64,
    pub at: DateTime<Utc>,
    pub editor_id: Uuid,
    /// `None` once the editor's account was erased.
    pub editor_username: Option<String>,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub kind: String,
    /// The revision before (the submission or the edit before); `None`
    /// only if the view holds none.
    pub before_title: Option<String>,
    pub before_description: Option<String>,
    pub before_tags: Option<Vec<String>>,
    pub before_kind: Option<String>,
}

/// One notification of a member's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    /// Stream position of the event (the keyset key and the SSE id).
    pub position: i64,
    /// `reply`, `comment`, `mention`, `hidden` or `restored`.
    pub kind: String,
    /// Who acted; `None` for the operator.
    pub actor_id: Option<Uuid>,
    /// `None` for the operator, or once the actor's account was erased.
    pub actor_username: Option<String>,
    pub resource_id: Uuid,
    /// The resource's title as it reads now.
    pub resource_title: Option<String>,
    pub comment_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub read: bool,
}

/// A site and how many visible resources it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRow {
    pub site: String,
    pub resources: i32,
}
