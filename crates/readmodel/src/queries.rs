//! The named read queries. Each one is a file under `queries/`, checked
//! against the schema at compile time, and served by an index (the EXPLAIN
//! test holds every one of them to that).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::Scope;
use crate::instrument::timed;
use crate::{
    AccountRow, CommentRow, Credentials, DeadLetterRow, DueSource, FollowedUser, ModerationEntry,
    NewsSourceRow, ProfileRow, ReadModelError, ResourceRow, SessionAccess, TagCount,
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

    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resource_by_id(&self, id: Uuid) -> Result<Option<ResourceRow>, ReadModelError> {
        timed(
            "resource_by_id",
            self.slow_after,
            sqlx::query_file_as!(ResourceRow, "queries/resource_by_id.sql", id)
                .fetch_optional(&self.pool),
        )
        .await
    }

    /// One list, newest
    /// first, strictly before the keyset position `before`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resources_newest(
        &self,
        scope: &Scope,
        before: i64,
        limit: i64,
    ) -> Result<Vec<ResourceRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            ResourceRow,
            "queries/resources_newest.sql",
            scope.to_string(),
            before,
            limit
        )
        .fetch_all(&self.pool);
        timed("resources_newest", self.slow_after, rows).await
    }

    /// One list, most upvoted first, strictly after the keyset `(votes, listed_at)`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resources_top(
        &self,
        scope: &Scope,
        (votes, listed_at): (i32, i64),
        limit: i64,
    ) -> Result<Vec<ResourceRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            ResourceRow,
            "queries/resources_top.sql",
            scope.to_string(),
            votes,
            listed_at,
            limit
        )
        .fetch_all(&self.pool);
        timed("resources_top", self.slow_after, rows).await
    }

    /// One list, hottest first, strictly after the keyset `(hot, listed_at)`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resources_hot(
        &self,
        scope: &Scope,
        (hot, listed_at): (f64, i64),
        limit: i64,
    ) -> Result<Vec<ResourceRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            ResourceRow,
            "queries/resources_hot.sql",
            scope.to_string(),
            hot,
            listed_at,
            limit
        )
        .fetch_all(&self.pool);
        timed("resources_hot", self.slow_after, rows).await
    }

    /// Several lists merged, newest first (a personal feed).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resources_in_scopes(
        &self,
        scopes: &[Scope],
        before: i64,
        limit: i64,
    ) -> Result<Vec<ResourceRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            ResourceRow,
            "queries/resources_in_scopes.sql",
            &Scope::keys(scopes),
            before,
            limit
        )
        .fetch_all(&self.pool);
        timed("resources_in_scopes", self.slow_after, rows).await
    }

    /// Several lists merged, hot first, after the keyset `(hot, listed_at)`
    /// (the front page).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resources_hot_in_scopes(
        &self,
        scopes: &[Scope],
        (hot, listed_at): (f64, i64),
        limit: i64,
    ) -> Result<Vec<ResourceRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            ResourceRow,
            "queries/resources_hot_in_scopes.sql",
            &Scope::keys(scopes),
            hot,
            listed_at,
            limit
        )
        .fetch_all(&self.pool);
        timed("resources_hot_in_scopes", self.slow_after, rows).await
    }

    /// The news sources, newest first, strictly before `before`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn news_sources_page(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<NewsSourceRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            NewsSourceRow,
            "queries/news_sources_page.sql",
            before,
            limit
        )
        .fetch_all(&self.pool);
        timed("news_sources_page", self.slow_after, rows).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn news_source_by_id(
        &self,
        id: Uuid,
    ) -> Result<Option<NewsSourceRow>, ReadModelError> {
        let row = sqlx::query_file_as!(NewsSourceRow, "queries/news_source_by_id.sql", id)
            .fetch_optional(&self.pool);
        timed("news_source_by_id", self.slow_after, row).await
    }

    /// Sources due for polling at `now`, longest overdue first (for the
    /// ingester, not the API).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn news_sources_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DueSource>, ReadModelError> {
        let rows = sqlx::query_file_as!(DueSource, "queries/news_sources_due.sql", now, limit)
            .fetch_all(&self.pool);
        timed("news_sources_due", self.slow_after, rows).await
    }

    /// Full-text search, best match first, after the keyset `(rank, listed_at)`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn resources_search(
        &self,
        query: &str,
        (rank, listed_at): (f64, i64),
        limit: i64,
    ) -> Result<Vec<ResourceRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            ResourceRow,
            "queries/resources_search.sql",
            query,
            rank,
            listed_at,
            limit
        )
        .fetch_all(&self.pool);
        timed("resources_search", self.slow_after, rows).await
    }

    /// A user's bookmarked resources, newest bookmark first.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn bookmarks_by_user(
        &self,
        user_id: Uuid,
        before: i64,
        limit: i64,
    ) -> Result<Vec<ResourceRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            ResourceRow,
            "queries/bookmarks_by_user.sql",
            user_id,
            before,
            limit
        )
        .fetch_all(&self.pool);
        timed("bookmarks_by_user", self.slow_after, rows).await
    }

    /// Tags by how many resources carry them, after the keyset `(count, tag)`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn tags_by_count(
        &self,
        (count, tag): (i32, &str),
        limit: i64,
    ) -> Result<Vec<TagCount>, ReadModelError> {
        let rows = sqlx::query_file_as!(TagCount, "queries/tags_by_count.sql", count, tag, limit)
            .fetch_all(&self.pool);
        timed("tags_by_count", self.slow_after, rows).await
    }

    /// A resource's comments in thread order, after the path `after`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn comments_by_resource(
        &self,
        resource_id: Uuid,
        after: &str,
        limit: i64,
    ) -> Result<Vec<CommentRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            CommentRow,
            "queries/comments_by_resource.sql",
            resource_id,
            after,
            limit
        )
        .fetch_all(&self.pool);
        timed("comments_by_resource", self.slow_after, rows).await
    }

    /// The moderation log, newest first, strictly before `before`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn moderation_log(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<ModerationEntry>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            ModerationEntry,
            "queries/moderation_log_page.sql",
            before,
            limit
        )
        .fetch_all(&self.pool);
        timed("moderation_log_page", self.slow_after, rows).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn profile_by_username(
        &self,
        username: &str,
    ) -> Result<Option<ProfileRow>, ReadModelError> {
        let row = sqlx::query_file_as!(ProfileRow, "queries/profile_by_username.sql", username)
            .fetch_optional(&self.pool);
        timed("profile_by_username", self.slow_after, row).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn account_by_id(&self, user_id: Uuid) -> Result<Option<AccountRow>, ReadModelError> {
        let row = sqlx::query_file_as!(AccountRow, "queries/account_by_id.sql", user_id)
            .fetch_optional(&self.pool);
        timed("account_by_id", self.slow_after, row).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn followed_tags(&self, user_id: Uuid) -> Result<Vec<String>, ReadModelError> {
        let rows = sqlx::query_file_scalar!("queries/followed_tags_by_user.sql", user_id)
            .fetch_all(&self.pool);
        timed("followed_tags_by_user", self.slow_after, rows).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn followed_users(&self, user_id: Uuid) -> Result<Vec<FollowedUser>, ReadModelError> {
        let rows =
            sqlx::query_file_as!(FollowedUser, "queries/followed_users_by_user.sql", user_id)
                .fetch_all(&self.pool);
        timed("followed_users_by_user", self.slow_after, rows).await
    }

    /// Looks a user up by username or e-mail (both stored normalised).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn credentials_by_login(
        &self,
        login: &str,
    ) -> Result<Option<Credentials>, ReadModelError> {
        timed(
            "credentials_by_login",
            self.slow_after,
            sqlx::query_file_as!(Credentials, "queries/credentials_by_login.sql", login)
                .fetch_optional(&self.pool),
        )
        .await
    }

    /// The session and its user's standing, for an access check.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn access_by_session(
        &self,
        session_id: Uuid,
    ) -> Result<Option<SessionAccess>, ReadModelError> {
        timed(
            "access_by_session",
            self.slow_after,
            sqlx::query_file_as!(SessionAccess, "queries/access_by_session.sql", session_id)
                .fetch_optional(&self.pool),
        )
        .await
    }

    /// The id of the (not deleted) user with this username.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn user_id_by_username(
        &self,
        username: &str,
    ) -> Result<Option<Uuid>, ReadModelError> {
        timed(
            "user_id_by_username",
            self.slow_after,
            sqlx::query_file_scalar!("queries/user_id_by_username.sql", username)
                .fetch_optional(&self.pool),
        )
        .await
    }

    /// The last position a projection has applied, 0 before its first batch.
    pub async fn projection_checkpoint(&self, projection: &str) -> Result<u64, ReadModelError> {
        let position = timed(
            "projection_checkpoint",
            self.slow_after,
            sqlx::query_file_scalar!("queries/projection_checkpoint.sql", projection)
                .fetch_optional(&self.pool),
        )
        .await?;
        Ok(position.map_or(0, |p| p as u64))
    }

    /// Active queries older than `older_than`, oldest first.
    pub async fn long_running_queries(
        &self,
        older_than: Duration,
    ) -> Result<Vec<RunningQuery>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            RunningQuery,
            "queries/long_running_queries.sql",
            older_than.as_secs_f64()
        )
        .fetch_all(&self.pool);
        timed("long_running_queries", self.slow_after, rows).await
    }

    /// Every projection's committed position.
    pub async fn projection_checkpoints(&self) -> Result<Vec<CheckpointRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(CheckpointRow, "queries/projection_checkpoints.sql")
            .fetch_all(&self.pool);
        timed("projection_checkpoints", self.slow_after, rows).await
    }

    /// Whether Postgres answers at all.
    pub async fn ping(&self) -> Result<(), ReadModelError> {
        let one = sqlx::query_file_scalar!("queries/ping.sql").fetch_one(&self.pool);
        timed("ping", self.slow_after, one).await.map(|_| ())
    }

    /// Dead letters after the key `(projection, position)`, in key order.
    pub async fn dead_letters_after(
        &self,
        projection: &str,
        position: i64,
        limit: i64,
    ) -> Result<Vec<DeadLetterRow>, ReadModelError> {
        let rows = sqlx::query_file_as!(
            DeadLetterRow,
            "queries/dead_letters_page.sql",
            projection,
            position,
            limit
        )
        .fetch_all(&self.pool);
        timed("dead_letters_page", self.slow_after, rows).await
    }
}
