//! The named read queries. Each one is a file under `queries/`, checked
//! against the schema at compile time, and served by an index (the EXPLAIN
//! test holds every one of them to that).

use sqlx::PgPool;
use uuid::Uuid;

use crate::{Credentials, ReadModelError, ResourceRow};

/// Read access to the views, for the API.
#[derive(Debug, Clone)]
pub struct ReadModel {
    pool: PgPool,
}

impl ReadModel {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    #[tracing::instrument(skip(self))]
    pub async fn resource_by_id(&self, id: Uuid) -> Result<Option<ResourceRow>, ReadModelError> {
        sqlx::query_file_as!(ResourceRow, "queries/resource_by_id.sql", id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ReadModelError::from_sqlx("resource_by_id"))
    }

    /// Newest first, strictly before the keyset position `before`.
    #[tracing::instrument(skip(self))]
    pub async fn resources_newest(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<ResourceRow>, ReadModelError> {
        sqlx::query_file_as!(ResourceRow, "queries/resources_newest.sql", before, limit)
            .fetch_all(&self.pool)
            .await
            .map_err(ReadModelError::from_sqlx("resources_newest"))
    }

    /// One tag's resources, newest first, strictly before `before`.
    #[tracing::instrument(skip(self))]
    pub async fn resources_by_tag(
        &self,
        tag: &str,
        before: i64,
        limit: i64,
    ) -> Result<Vec<ResourceRow>, ReadModelError> {
        sqlx::query_file_as!(
            ResourceRow,
            "queries/resources_by_tag.sql",
            tag,
            before,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(ReadModelError::from_sqlx("resources_by_tag"))
    }

    /// Looks a user up by username or e-mail (both stored normalised).
    #[tracing::instrument(skip(self))]
    pub async fn credentials_by_login(
        &self,
        login: &str,
    ) -> Result<Option<Credentials>, ReadModelError> {
        sqlx::query_file_as!(Credentials, "queries/credentials_by_login.sql", login)
            .fetch_optional(&self.pool)
            .await
            .map_err(ReadModelError::from_sqlx("credentials_by_login"))
    }

    /// The last position a projection has applied, 0 before its first batch.
    pub async fn projection_checkpoint(&self, projection: &str) -> Result<u64, ReadModelError> {
        let position = sqlx::query_file_scalar!("queries/projection_checkpoint.sql", projection)
            .fetch_optional(&self.pool)
            .await
            .map_err(ReadModelError::from_sqlx("projection_checkpoint"))?;
        Ok(position.map_or(0, |p| p as u64))
    }
}
