//! How far behind the projections are, and whether this node can serve.

use std::time::Duration;

use tokio::time::{Instant, timeout_at};

use chrono::Utc;
use resourcify_eventstore::EventStore;
use resourcify_readmodel::ReadModel;
use resourcify_readmodel::projections::Projection;

use crate::core::Core;
use crate::error::AppError;
use crate::metric_families::{
    DB_LONG_RUNNING_QUERIES, DEAD_LETTERS_PENDING, NATS_CONNECTED, POOL_STATES, POSTGRES_CONNECTED,
    POSTGRES_POOL_CONNECTIONS, PROJECTION_CHECKPOINT, PROJECTION_HEAD, PROJECTION_LAG_EVENTS,
    PROJECTION_LAG_SECONDS,
};
use crate::replicas::{ReadReplicas, ReplicaState};

/// One projection's progress against the head of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionStatus {
    pub projection: &'static str,
    pub checkpoint: u64,
    pub head: u64,
    pub lag_events: u64,
    /// Age of the oldest event not yet applied; 0 when caught up.
    pub lag_seconds: f64,
    /// Events parked because they could not be applied.
    pub dead_letters: u64,
}

/// Every projection's progress: what `resourcify status`, `/readyz` and the
/// lag metrics report.
pub async fn projection_statuses(
    store: &EventStore,
    reads: &ReadModel,
) -> Result<Vec<ProjectionStatus>, AppError> {
    let head = store.head().await?;
    let committed = reads.projection_checkpoints().await?;
    let mut statuses = Vec::new();
    for projection in Projection::ALL {
        let row = committed
            .iter()
            .find(|row| row.projection == projection.name());
        let checkpoint = row.map_or(0, |row| row.position.max(0) as u64);
        let lag_events = head.saturating_sub(checkpoint);
        let lag_seconds = if lag_events == 0 {
            0.0
        } else {
            store
                .stored_at(checkpoint + 1)
                .await?
                .map_or(0.0, |t| (Utc::now() - t).as_seconds_f64().max(0.0))
        };
        statuses.push(ProjectionStatus {
            projection: projection.name(),
            checkpoint,
            head,
            lag_events,
            lag_seconds,
            dead_letters: row.map_or(0, |row| row.dead_letters.max(0) as u64),
        });
    }
    Ok(statuses)
}

/// What `/readyz` reports.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// The node is shutting down and takes no new work.
    pub draining: bool,
    pub nats: bool,
    pub postgres: bool,
    /// Empty when NATS or Postgres is down (lag cannot be known then).
    pub projections: Vec<ProjectionStatus>,
    pub max_lag_events: u64,
    /// Each read replica and whether reads may use it; one out of rotation
    /// leaves the node ready (reads go elsewhere).
    pub replicas: Vec<(String, ReplicaState)>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        !self.draining
            && self.nats
            && self.postgres
            && !self.projections.is_empty()
            && self
                .projections
                .iter()
                .all(|p| p.lag_events <= self.max_lag_events)
    }
}

/// How long `/readyz` may take to answer.
const READY_WITHIN: Duration = Duration::from_millis(900);

/// How this node and the projections are doing.
#[derive(Debug, Clone)]
pub struct Status {
    core: Core,
}

impl Status {
    pub(crate) fn new(core: Core) -> Self {
        Self { core }
    }

    pub async fn projection_status(&self) -> Result<Vec<ProjectionStatus>, AppError> {
        projection_statuses(self.core.store(), self.core.primary()).await
    }

    /// The node's read replicas and whether reads may use each.
    pub fn read_replicas(&self) -> &ReadReplicas {
        self.core.replicas()
    }

    /// Stops taking new work (see `Core::begin_draining`): run on SIGTERM,
    /// before the server stops accepting connections.
    pub fn begin_draining(&self) {
        self.core.begin_draining();
    }

    /// Whether this node can serve, answered within `READY_WITHIN`
    /// whatever NATS or Postgres do: an orchestrator's probe must not hang
    /// on the very outage it is there to notice. What did not answer in
    /// time counts as down.
    pub async fn readiness(&self) -> Readiness {
        let deadline = Instant::now() + READY_WITHIN;
        let nats = self.core.store().is_connected();
        let postgres = timeout_at(deadline, self.core.primary().ping())
            .await
            .is_ok_and(|pinged| pinged.is_ok());
        let projections = if nats && postgres {
            timeout_at(deadline, self.projection_status())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Readiness {
            draining: self.core.is_draining(),
            nats,
            postgres,
            projections,
            max_lag_events: self.core.settings().ready_max_lag_events,
            replicas: self.core.replicas().states(),
        }
    }

    /// Samples what the database and the projections are doing, for the
    /// metrics and the logs, until the task is dropped.
    pub async fn watch_health(self, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            self.sample_health().await;
        }
    }

    async fn sample_health(&self) {
        let nats = self.core.store().is_connected();
        metrics::gauge!(NATS_CONNECTED).set(f64::from(u8::from(nats)));
        let postgres = self.core.primary().ping().await.is_ok();
        metrics::gauge!(POSTGRES_CONNECTED).set(f64::from(u8::from(postgres)));
        let pool = self.core.primary().pool();
        let [open, idle] = POOL_STATES;
        metrics::gauge!(POSTGRES_POOL_CONNECTIONS, "state" => open).set(f64::from(pool.size()));
        metrics::gauge!(POSTGRES_POOL_CONNECTIONS, "state" => idle).set(pool.num_idle() as f64);

        let threshold = self.core.settings().long_running_query;
        match self.core.primary().long_running_queries(threshold).await {
            Ok(running) => {
                metrics::gauge!(DB_LONG_RUNNING_QUERIES).set(running.len() as f64);
                for query in running {
                    tracing::warn!(
                        pid = query.pid,
                        seconds = query.seconds,
                        query = query.query,
                        "long-running query"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "could not read pg_stat_activity"),
        }

        match self.projection_status().await {
            Ok(statuses) => {
                for s in statuses {
                    let p = s.projection;
                    metrics::gauge!(PROJECTION_CHECKPOINT, "projection" => p)
                        .set(s.checkpoint as f64);
                    metrics::gauge!(PROJECTION_HEAD, "projection" => p).set(s.head as f64);
                    metrics::gauge!(PROJECTION_LAG_EVENTS, "projection" => p)
                        .set(s.lag_events as f64);
                    metrics::gauge!(PROJECTION_LAG_SECONDS, "projection" => p).set(s.lag_seconds);
                    metrics::gauge!(DEAD_LETTERS_PENDING, "projection" => p)
                        .set(s.dead_letters as f64);
                }
            }
            Err(error) => tracing::warn!(%error, "could not read projection status"),
        }
    }
}
