//! The named read queries. Each one is a file under `queries/`, checked
//! against the schema at compile time, and served by an index (the EXPLAIN
//! test holds every one of them to that). Most are declared in one line
//! each by `named_queries!`, below.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::Scope;
use crate::instrument::timed;
use crate::{
    AccountRow, AuthoredComment, BookmarkRow, CommentRow, CommentVoteRow, Credentials,
    DeadLetterRow, DueSource, FlagQueueEntry, FlagRow, FollowedUser, ModerationEntry,
    NewsSourceRow, NotificationRow, ProfileRow, ReadModelError, ResourceRow, RevisionRow,
    SessionAccess, SessionRow, SiteRow, TagCount, VoteRow,
};

/// Read access to the views, for the API.
#[derive(Debug, Clone)]
pub struct ReadModel {
    pool: PgPool,
    slow_after: Duration,
}

/// A query that has been running on the server for a while.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningQuery {
    pub pid: i32,
    pub seconds: f64,
    pub query: String,
}

/// A projection's committed position.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointRow {
    pub projection: String,
    pub position: i64,
    pub updated_at: DateTime<Utc>,
    /// Events parked in `dead_letters` for this projection.
    pub dead_letters: i64,
}

impl ReadModel {
    /// Queries slower than `slow_after` are counted and logged as slow.
    pub fn new(pool: PgPool, slow_after: Duration) -> Self {
        Self { pool, slow_after }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The last position a projection has applied, 0 before its first batch.
    pub async fn projection_checkpoint(&self, projection: &str) -> Result<u64, ReadModelError> {
        let run = sqlx::query_file_scalar!("queries/projection_checkpoint.sql", projection)
            .fetch_optional(&self.pool);
        let position = timed("projection_checkpoint", self.slow_after, run).await?;
        Ok(position.map_or(0, |p| p as u64))
    }

    /// Whether Postgres answers at all.
    pub async fn ping(&self) -> Result<(), ReadModelError> {
        let one = sqlx::query_file_scalar!("queries/ping.sql").fetch_one(&self.pool);
        timed("ping", self.slow_after, one).await.map(|_| ())
    }
}

/// A named query: a method that runs one file of `queries/` (checked
/// against the schema at compile time, rows mapped by `sqlx`), timed and
/// labelled with the file's name. Only the file, the arguments and the row
/// type differ from one query to the next, so only they are written.
macro_rules! named_queries {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty
            = $fetch:ident $kind:ident$(<$row:path>)?($file:literal $(, $bind:expr)*);
    )*) => {
        impl ReadModel {
            $(
                $(#[$doc])*
                #[tracing::instrument(level = "debug", skip(self))]
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$ret, ReadModelError> {
                    let run = sqlx::$kind!($($row,)? $file $(, $bind)*).$fetch(&self.pool);
                    timed(query_name($file), self.slow_after, run).await
                }
            )*
        }
    };
}

/// `queries/x.sql` → `x`, the label of its metrics and logs.
fn query_name(file: &'static str) -> &'static str {
    file.trim_start_matches("queries/").trim_end_matches(".sql")
}

named_queries! {
    /// One resource, whatever its state (callers decide who may see it).
    fn resource_by_id(id: Uuid) -> Option<ResourceRow>
        = fetch_optional query_file_as<ResourceRow>("queries/resource_by_id.sql", id);
    /// One list, newest first, strictly before the keyset position `before`.
    fn resources_newest(scope: &Scope, before: i64, limit: i64) -> Vec<ResourceRow>
        = fetch_all query_file_as<ResourceRow>("queries/resources_newest.sql", scope.to_string(), before, limit);
    /// One list, most upvoted first, strictly after the keyset `(votes, listed_at)`.
    fn resources_top(scope: &Scope, after: (i32, i64), limit: i64) -> Vec<ResourceRow>
        = fetch_all query_file_as<ResourceRow>("queries/resources_top.sql", scope.to_string(), after.0, after.1, limit);
    /// One list, hottest first, strictly after the keyset `(hot, listed_at)`.
    fn resources_hot(scope: &Scope, after: (f64, i64), limit: i64) -> Vec<ResourceRow>
        = fetch_all query_file_as<ResourceRow>("queries/resources_hot.sql", scope.to_string(), after.0, after.1, limit);
    /// Several lists merged, newest first (a personal feed).
    fn resources_in_scopes(scopes: &[Scope], before: i64, limit: i64) -> Vec<ResourceRow>
        = fetch_all query_file_as<ResourceRow>("queries/resources_in_scopes.sql", &Scope::keys(scopes), before, limit);
    /// Several lists merged, hot first, after the keyset `(hot, listed_at)`
    /// (the front page).
    fn resources_hot_in_scopes(scopes: &[Scope], after: (f64, i64), limit: i64) -> Vec<ResourceRow>
        = fetch_all query_file_as<ResourceRow>("queries/resources_hot_in_scopes.sql", &Scope::keys(scopes), after.0, after.1, limit);
    /// Full-text search, best match first, after the keyset `(rank, listed_at)`.
    fn resources_search(query: &str, after: (f64, i64), limit: i64) -> Vec<ResourceRow>
        = fetch_all query_file_as<ResourceRow>("queries/resources_search.sql", query, after.0, after.1, limit);
    /// A user's bookmarked resources, newest bookmark first.
    fn bookmarks_by_user(user_id: Uuid, before: i64, limit: i64) -> Vec<ResourceRow>
        = fetch_all query_file_as<ResourceRow>("queries/bookmarks_by_user.sql", user_id, before, limit);
    /// A resource's edits, newest first, strictly before the position `before`.
    fn resource_history_newest(resource_id: Uuid, before: i64, limit: i64) -> Vec<RevisionRow>
        = fetch_all query_file_as<RevisionRow>("queries/resource_history_newest.sql", resource_id, before, limit);
    /// A resource's edits, oldest first, strictly after the position `after`.
    fn resource_history_oldest(resource_id: Uuid, after: i64, limit: i64) -> Vec<RevisionRow>
        = fetch_all query_file_as<RevisionRow>("queries/resource_history_oldest.sql", resource_id, after, limit);
    /// A member's inbox, newest first, strictly before the position `before`.
    fn notifications_newest(user_id: Uuid, before: i64, limit: i64) -> Vec<NotificationRow>
        = fetch_all query_file_as<NotificationRow>("queries/notifications_newest.sql", user_id, before, limit);
    /// A member's notifications strictly after the position `after`, oldest first.
    fn notifications_after(user_id: Uuid, after: i64, limit: i64) -> Vec<NotificationRow>
        = fetch_all query_file_as<NotificationRow>("queries/notifications_after.sql", user_id, after, limit);
    /// How many of a member's notifications are unread.
    fn notifications_unread_count(user_id: Uuid) -> i64
        = fetch_one query_file_scalar("queries/notifications_unread_count.sql", user_id);
    /// One site and its count of visible resources.
    fn site_by_name(site: &str) -> Option<SiteRow>
        = fetch_optional query_file_as<SiteRow>("queries/site_by_name.sql", site);
    /// One site's visible resources, newest first, strictly before `before`.
    fn resources_by_site(site: &str, before: i64, limit: i64) -> Vec<ResourceRow>
        = fetch_all query_file_as<ResourceRow>("queries/resources_by_site.sql", site, before, limit);
    /// Tags by how many resources carry them, after the keyset `(count, tag)`.
    fn tags_by_count(after: (i32, &str), limit: i64) -> Vec<TagCount>
        = fetch_all query_file_as<TagCount>("queries/tags_by_count.sql", after.0, after.1, limit);
    /// One comment, whatever its state (callers decide who may see it).
    fn comment_by_id(id: Uuid) -> Option<CommentRow>
        = fetch_optional query_file_as<CommentRow>("queries/comment_by_id.sql", id);
    /// A resource's comments in thread order, after the path `after`.
    fn comments_by_resource(resource_id: Uuid, after: &str, limit: i64) -> Vec<CommentRow>
        = fetch_all query_file_as<CommentRow>("queries/comments_by_resource.sql", resource_id, after, limit);
    /// A resource's comments, each level of the thread ranked: by score
    /// (Wilson) when `by_score`, else newest first; after the key `after`.
    fn comments_by_resource_ranked(resource_id: Uuid, by_score: bool, after: &str, limit: i64) -> Vec<CommentRow>
        = fetch_all query_file_as<CommentRow>("queries/comments_by_resource_ranked.sql", resource_id, after, limit, by_score);
    /// The moderation log, newest first, strictly before `before`.
    fn moderation_log(before: i64, limit: i64) -> Vec<ModerationEntry>
        = fetch_all query_file_as<ModerationEntry>("queries/moderation_log_page.sql", before, limit);
    /// The moderation queue, most flagged first then oldest, after the
    /// keyset (`-flags`, `queued_at`).
    fn flag_queue(after_flags: i32, after_queued_at: i64, limit: i64) -> Vec<FlagQueueEntry>
        = fetch_all query_file_as<FlagQueueEntry>("queries/flag_queue_page.sql", after_flags, after_queued_at, limit);
    /// The news sources, newest first, strictly before `before`.
    fn news_sources_page(before: i64, limit: i64) -> Vec<NewsSourceRow>
        = fetch_all query_file_as<NewsSourceRow>("queries/news_sources_page.sql", before, limit);
    /// One news source.
    fn news_source_by_id(id: Uuid) -> Option<NewsSourceRow>
        = fetch_optional query_file_as<NewsSourceRow>("queries/news_source_by_id.sql", id);
    /// Sources due for polling at `now`, longest overdue first (for the
    /// ingester, not the API).
    fn news_sources_due(now: DateTime<Utc>, limit: i64) -> Vec<DueSource>
        = fetch_all query_file_as<DueSource>("queries/news_sources_due.sql", now, limit);
    /// A user's public profile, by (normalised) username.
    fn profile_by_username(username: &str) -> Option<ProfileRow>
        = fetch_optional query_file_as<ProfileRow>("queries/profile_by_username.sql", username);
    /// One's own account.
    fn account_by_id(user_id: Uuid) -> Option<AccountRow>
        = fetch_optional query_file_as<AccountRow>("queries/account_by_id.sql", user_id);
    /// The tags a user follows.
    fn followed_tags(user_id: Uuid) -> Vec<String>
        = fetch_all query_file_scalar("queries/followed_tags_by_user.sql", user_id);
    /// The tags a member hides, at most `MAX_HIDDEN_TAGS` of them.
    fn hidden_tags(user_id: Uuid) -> Vec<String>
        = fetch_all query_file_scalar("queries/hidden_tags_by_user.sql", user_id);
    /// The users a user follows.
    fn followed_users(user_id: Uuid) -> Vec<FollowedUser>
        = fetch_all query_file_as<FollowedUser>("queries/followed_users_by_user.sql", user_id);
    /// One's e-mail address (only credentials hold it).
    fn email_by_user(user_id: Uuid) -> Option<String>
        = fetch_optional query_file_scalar("queries/email_by_user.sql", user_id);
    /// Everything a member submitted, hidden and retracted included, newest first.
    fn resources_by_author(author_id: Uuid, limit: i64) -> Vec<ResourceRow>
        = fetch_all query_file_as<ResourceRow>("queries/resources_by_author.sql", author_id, limit);
    /// Every comment a member wrote, gone ones included, newest first.
    fn comments_by_author(author_id: Uuid, limit: i64) -> Vec<AuthoredComment>
        = fetch_all query_file_as<AuthoredComment>("queries/comments_by_author.sql", author_id, limit);
    /// A member's upvotes, newest first.
    fn votes_by_user(user_id: Uuid, limit: i64) -> Vec<VoteRow>
        = fetch_all query_file_as<VoteRow>("queries/votes_by_user.sql", user_id, limit);
    /// A member's votes on comments, newest first.
    fn comment_votes_by_user(user_id: Uuid, limit: i64) -> Vec<CommentVoteRow>
        = fetch_all query_file_as<CommentVoteRow>("queries/comment_votes_by_user.sql", user_id, limit);
    /// A member's open flags, newest first.
    fn flags_by_user(user_id: Uuid, limit: i64) -> Vec<FlagRow>
        = fetch_all query_file_as<FlagRow>("queries/flags_by_user.sql", user_id, limit);
    /// A member's bookmarks as stored, whatever became of the resources, newest first.
    fn bookmark_entries_by_user(user_id: Uuid, limit: i64) -> Vec<BookmarkRow>
        = fetch_all query_file_as<BookmarkRow>("queries/bookmark_entries_by_user.sql", user_id, limit);
    /// A member's sessions, ended ones included, newest first.
    fn sessions_by_user(user_id: Uuid, limit: i64) -> Vec<SessionRow>
        = fetch_all query_file_as<SessionRow>("queries/sessions_by_user.sql", user_id, limit);
    /// A member's sessions that still hold at `now`, newest first.
    fn open_sessions_by_user(user_id: Uuid, now: DateTime<Utc>, limit: i64) -> Vec<SessionRow>
        = fetch_all query_file_as<SessionRow>("queries/open_sessions_by_user.sql", user_id, now, limit);
    /// Looks a user up by username or e-mail (both stored normalised).
    fn credentials_by_login(login: &str) -> Option<Credentials>
        = fetch_optional query_file_as<Credentials>("queries/credentials_by_login.sql", login);
    /// The session and its user's standing, for an access check.
    fn access_by_session(session_id: Uuid) -> Option<SessionAccess>
        = fetch_optional query_file_as<SessionAccess>("queries/access_by_session.sql", session_id);
    /// The id of the (not deleted) user with this username.
    fn user_id_by_username(username: &str) -> Option<Uuid>
        = fetch_optional query_file_scalar("queries/user_id_by_username.sql", username);
    /// Active queries older than `older_than`, oldest first.
    fn long_running_queries(older_than: Duration) -> Vec<RunningQuery>
        = fetch_all query_file_as<RunningQuery>("queries/long_running_queries.sql", older_than.as_secs_f64());
    /// Every projection's committed position.
    fn projection_checkpoints() -> Vec<CheckpointRow>
        = fetch_all query_file_as<CheckpointRow>("queries/projection_checkpoints.sql");
    /// Dead letters after the key `(projection, position)`, in key order.
    fn dead_letters_after(projection: &str, position: i64, limit: i64) -> Vec<DeadLetterRow>
        = fetch_all query_file_as<DeadLetterRow>("queries/dead_letters_page.sql", projection, position, limit);
}
