//! The read side's machinery, shared by every query: wait for the caller's
//! position, refuse one beyond the log, serve rendered lists from memory,
//! and the two lookups several features make.

use std::sync::Arc;

use bytes::Bytes;
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{ReadModel, ResourceRow};
use tokio::time::Instant;
use uuid::Uuid;

use super::Core;
use crate::error::AppError;
use crate::replicas::ViewSource;
use crate::views::{CacheOutcome, RenderedView, ViewCache};

impl Core {
    /// Where to read `projections` once they show `min_position` (if the
    /// caller sent one): a replica in rotation that shows it, or the
    /// primary when no replica is in rotation. Waits for the position
    /// within the read wait, then refuses with 503.
    pub(crate) async fn read_from(
        &self,
        projections: &[Projection],
        min_position: Option<u64>,
    ) -> Result<ViewSource, AppError> {
        if let Some(position) = min_position {
            self.ensure_in_log(position).await?;
        }
        let deadline = Instant::now() + self.parts.settings.read_wait;
        let replicas = &self.parts.backends.replicas;
        if !replicas.is_empty() {
            let wanted = min_position.unwrap_or(0);
            if let Some(source) = replicas.source(projections, wanted, deadline).await {
                return Ok(source);
            }
            if replicas.any_in_rotation() {
                return Err(not_yet_projected(projections, wanted));
            }
        }
        let positions = &self.parts.backends.positions;
        if let Some(position) = min_position {
            for projection in projections {
                let left = deadline.saturating_duration_since(Instant::now());
                positions.wait_for(*projection, position, left).await?;
            }
        }
        self.parts.primary_reads.increment(1);
        Ok(ViewSource {
            reads: self.parts.backends.reads.clone(),
            position: projections
                .iter()
                .map(|p| positions.current(*p))
                .min()
                .unwrap_or(0),
            replica: false,
        })
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

    /// A view from `cache`, or built by `build` (bytes and next cursor) from
    /// `projections` and cached unless a projector changed something
    /// meanwhile.
    pub(crate) async fn cached(
        &self,
        cache: &ViewCache<String>,
        projections: &[Projection],
        key: String,
        min_position: Option<u64>,
        build: impl AsyncFnOnce(ReadModel) -> Result<(Bytes, Option<String>), AppError>,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        if let Some(view) = cache.get(&key, min_position) {
            return Ok((view, CacheOutcome::Hit));
        }
        let source = self.read_from(projections, min_position).await?;
        cache
            .load(&key, min_position, || async {
                let position = source.position;
                let replica = source.replica;
                let (body, next_cursor) = build(source.reads).await?;
                Ok(RenderedView::new(body, position)
                    .with_next_cursor(next_cursor)
                    .read_from_replica(replica))
            })
            .await
    }

    /// A page of a public list of resources (ADR 4's list cache), or built
    /// by `build`.
    pub(crate) async fn cached_list(
        &self,
        key: String,
        min_position: Option<u64>,
        build: impl AsyncFnOnce(ReadModel) -> Result<(Bytes, Option<String>), AppError>,
    ) -> Result<(Arc<RenderedView>, CacheOutcome), AppError> {
        let lists = &self.parts.views.lists;
        self.cached(lists, &[Projection::Resources], key, min_position, build)
            .await
    }

    /// A resource everyone may see (not hidden, not retracted).
    pub(crate) async fn public_resource(
        &self,
        id: Uuid,
        min_position: Option<u64>,
    ) -> Result<ResourceRow, AppError> {
        self.read_from(&[Projection::Resources], min_position)
            .await?
            .reads
            .resource_by_id(id)
            .await?
            .filter(ResourceRow::is_public)
            .ok_or(AppError::NotFound("resource"))
    }

    /// The id of a (not deleted) user, by username.
    pub(crate) async fn user_id_by_username(&self, username: &str) -> Result<Uuid, AppError> {
        let normalised = username.trim().to_lowercase();
        self.read_from(&[Projection::Users], None)
            .await?
            .reads
            .user_id_by_username(&normalised)
            .await?
            .ok_or(AppError::NotFound("user"))
    }
}

fn not_yet_projected(projections: &[Projection], position: u64) -> AppError {
    AppError::NotYetProjected {
        projection: projections.first().map_or("views", |p| p.name()),
        position,
    }
}
