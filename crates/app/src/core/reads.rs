//! The read side's machinery, shared by every query: wait for the caller's
//! position, refuse one beyond the log, serve rendered lists from memory,
//! and the two lookups several features make.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use resourcify_readmodel::ResourceRow;
use resourcify_readmodel::projections::Projection;
use uuid::Uuid;

use super::Core;
use crate::error::AppError;
use crate::views::{CacheOutcome, RenderedView, ViewCache};

impl Core {
    /// Waits until `projection` shows `min_position`, if the caller sent one.
    pub(crate) async fn wait_for(
        &self,
        projection: Projection,
        min_position: Option<u64>,
    ) -> Result<(), AppError> {
        let Some(position) = min_position else {
            return Ok(());
        };
        let positions = &self.parts.backends.positions;
        if position > positions.current(projection) {
            self.ensure_in_log(position).await?;
        }
        positions
            .wait_for(projection, position, self.parts.settings.read_wait)
            .await
    }

    /// Refuses at once a position beyond the head of the log, rather than
    /// holding a read slot for the whole wait. The head is asked of the log
    /// only when a position is beyond the newest this node has seen, so a
    /// read that waits for a fresh write asks once, and others not at all.
    async fn ensure_in_log(&self, position: u64) -> Result<(), AppError> {
        let positions = &self.parts.backends.positions;
        if position <= positions.known_head() {
            return Ok(());
        }
        let head = self.parts.backends.store.head().await?;
        positions.saw_head(head);
        if position > head {
            return Err(AppError::PositionBeyondHead { position, head });
        }
        Ok(())
    }

    /// A view from `cache`, or built by `build` (bytes and next cursor) and
    /// cached unless a projector changed something meanwhile.
    pub(crate) async fn cached<F, Fut>(
        &self,
        cache: &ViewCache<String>,
        projection: Projection,
        key: String,
        min_position: Option<u64>,
        build: F,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Bytes, Option<String>), AppError>>,
    {
        if let Some(view) = cache.get(&key, min_position) {
            return Ok((view, CacheOutcome::Hit));
        }
        self.wait_for(projection, min_position).await?;
        cache
            .load(&key, min_position, || async {
                let position = self.parts.backends.positions.current(projection);
                let (body, next_cursor) = build().await?;
                Ok(RenderedView::new(body, position).with_next_cursor(next_cursor))
            })
            .await
    }

    /// A page of a public list of resources (ADR 4's list cache), or built
    /// by `build`.
    pub(crate) async fn cached_list<F, Fut>(
        &self,
        key: String,
        min_position: Option<u64>,
        build: F,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Bytes, Option<String>), AppError>>,
    {
        let lists = &self.parts.views.lists;
        self.cached(lists, Projection::Resources, key, min_position, build)
            .await
    }

    /// A resource everyone may see (not hidden, not retracted).
    pub(crate) async fn public_resource(
        &self,
        id: Uuid,
        min_position: Option<u64>,
    ) -> Result<ResourceRow, AppError> {
        self.wait_for(Projection::Resources, min_position).await?;
        self.parts
            .backends
            .reads
            .resource_by_id(id)
            .await?
            .filter(ResourceRow::is_public)
            .ok_or(AppError::NotFound("resource"))
    }

    /// The id of a (not deleted) user, by username.
    pub(crate) async fn user_id_by_username(&self, username: &str) -> Result<Uuid, AppError> {
        let normalised = username.trim().to_lowercase();
        self.parts
            .backends
            .reads
            .user_id_by_username(&normalised)
            .await?
            .ok_or(AppError::NotFound("user"))
    }
}
