//! How far each projection has got, as seen by this API node: fed by the
//! projectors' notices, checked against the committed checkpoint when a
//! request must wait, so a lost notice only costs a poll interval.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{ReadModel, ViewNotice};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::AppError;

const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Per-projection positions with waiters.
#[derive(Debug, Clone)]
pub struct ViewPositions {
    positions: Arc<HashMap<Projection, watch::Sender<u64>>>,
    /// The newest position known to be in the log: any projection's, or the
    /// head last asked of the log.
    head: Arc<AtomicU64>,
    reads: ReadModel,
}

impl ViewPositions {
    pub fn new(reads: ReadModel) -> Self {
        let positions = Projection::ALL
            .into_iter()
            .map(|p| (p, watch::Sender::new(0)))
            .collect();
        Self {
            positions: Arc::new(positions),
            head: Arc::new(AtomicU64::new(0)),
            reads,
        }
    }

    fn sender(&self, projection: Projection) -> &watch::Sender<u64> {
        &self.positions[&projection]
    }

    /// The newest position known to be applied by `projection`.
    pub fn current(&self, projection: Projection) -> u64 {
        *self.sender(projection).borrow()
    }

    /// The newest position known to be in the log.
    pub fn known_head(&self) -> u64 {
        self.head.load(Ordering::Relaxed)
    }

    /// Records that the log reaches at least `position`.
    pub fn saw_head(&self, position: u64) {
        self.head.fetch_max(position, Ordering::Relaxed);
    }

    /// Records that `projection` has reached `position` (positions only grow).
    pub fn advance(&self, projection: Projection, position: u64) {
        self.saw_head(position);
        self.sender(projection).send_if_modified(|current| {
            let moved = position > *current;
            if moved {
                *current = position;
            }
            moved
        });
    }

    pub fn observe(&self, notice: &ViewNotice) {
        if let Some(projection) = Projection::from_name(&notice.projection) {
            self.advance(projection, notice.position);
        }
    }

    /// Waits until `projection` has applied `position`, for at most `limit`.
    pub async fn wait_for(
        &self,
        projection: Projection,
        position: u64,
        limit: Duration,
    ) -> Result<(), AppError> {
        let mut seen = self.sender(projection).subscribe();
        if *seen.borrow_and_update() >= position {
            return Ok(());
        }
        let deadline = Instant::now() + limit;
        loop {
            let committed = self.reads.projection_checkpoint(projection.name()).await?;
            self.advance(projection, committed);
            if committed >= position {
                return Ok(());
            }
            let wake = (Instant::now() + POLL_INTERVAL).min(deadline);
            // Woken early by a notice, or by the poll interval as a backstop.
            let _ = tokio::time::timeout_at(wake, seen.changed()).await;
            if *seen.borrow_and_update() >= position {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AppError::NotYetProjected {
                    projection: projection.name(),
                    position,
                });
            }
        }
    }
}
