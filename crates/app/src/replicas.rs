//! Streaming replicas of the read model, and which one a read may use.
//!
//! A replica holds the views and their checkpoint rows, replicated together
//! by PostgreSQL, so its checkpoint says exactly how far its views go. One
//! follower per node polls every replica's checkpoints: a read goes to a
//! replica in rotation that has applied the position the caller asked for;
//! a replica that does not answer, or that has not reached within
//! `max_lag` what the primary had applied, leaves the rotation until it
//! answers and catches up. With no replica in rotation, reads go to the
//! primary, as on a node without replicas.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use resourcify_readmodel::ReadModel;
use resourcify_readmodel::projections::Projection;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::metric_families::{READ_REPLICAS_IN_ROTATION, VIEW_READS};
use crate::positions::ViewPositions;

/// How the follower watches the replicas.
#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    /// A replica that has not applied, this long after, what the primary
    /// had applied leaves the rotation.
    pub max_lag: Duration,
    /// How often checkpoints are read when no read is waiting.
    pub poll_every: Duration,
    /// How often while a read waits for a replica to reach its position.
    pub poll_while_waited_on: Duration,
    /// A replica that takes longer to answer a poll is out.
    pub answer_within: Duration,
}

impl Default for ReplicaSettings {
    fn default() -> Self {
        Self {
            max_lag: Duration::from_secs(2),
            poll_every: Duration::from_millis(100),
            poll_while_waited_on: Duration::from_millis(5),
            answer_within: Duration::from_millis(500),
        }
    }
}

/// What the follower last saw of one replica.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaState {
    /// Each projection's applied position, in [`Projection::ALL`]'s order.
    pub applied: [u64; Projection::ALL.len()],
    pub in_rotation: bool,
    /// Why it is out of the rotation, if it is.
    pub out_because: Option<&'static str>,
}

impl ReplicaState {
    /// How far `projection` goes on this replica.
    pub fn applied(&self, projection: Projection) -> u64 {
        self.applied[index(projection)]
    }
}

fn index(projection: Projection) -> usize {
    Projection::ALL
        .iter()
        .position(|p| *p == projection)
        .expect("every projection is in ALL")
}

/// One replica: where to read, and what the follower saw of it.
#[derive(Debug)]
pub struct ReadReplica {
    /// `1`, `2`, … in the order the settings list them (the metrics' label:
    /// an address may hold a password).
    pub name: String,
    pub reads: ReadModel,
    state: watch::Sender<ReplicaState>,
}

/// A read model to read from, and the position it is known to show.
#[derive(Debug, Clone)]
pub struct ViewSource {
    pub reads: ReadModel,
    /// A lower bound of what the source shows of the asked projections.
    pub position: u64,
    /// Read from a replica, whose answers the cache keeps only if they show
    /// every change announced so far.
    pub replica: bool,
}

/// The node's replicas (none: every read goes to the primary).
#[derive(Debug, Clone)]
pub struct ReadReplicas {
    replicas: Arc<Vec<ReadReplica>>,
    settings: ReplicaSettings,
    /// Reads waiting for a replica to catch up: the follower polls faster.
    waiting: Arc<AtomicUsize>,
    waiter_arrived: Arc<Notify>,
    /// Spreads reads over the replicas that qualify.
    next: Arc<AtomicUsize>,
    replica_reads: metrics::Counter,
}

impl Default for ReadReplicas {
    /// No replicas.
    fn default() -> Self {
        Self::new(Vec::new(), ReplicaSettings::default())
    }
}

impl ReadReplicas {
    pub fn new(replicas: Vec<ReadModel>, settings: ReplicaSettings) -> Self {
        let replicas = replicas
            .into_iter()
            .enumerate()
            .map(|(i, reads)| ReadReplica {
                name: (i + 1).to_string(),
                reads,
                state: watch::Sender::new(ReplicaState {
                    out_because: Some("not polled yet"),
                    ..ReplicaState::default()
                }),
            })
            .collect();
        Self {
            replicas: Arc::new(replicas),
            settings,
            waiting: Arc::default(),
            waiter_arrived: Arc::default(),
            next: Arc::default(),
            replica_reads: metrics::counter!(VIEW_READS, "source" => "replica"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// Each replica's name and state, for `/readyz` and the status command.
    pub fn states(&self) -> Vec<(String, ReplicaState)> {
        self.replicas
            .iter()
            .map(|r| (r.name.clone(), r.state.borrow().clone()))
            .collect()
    }

    /// A replica in rotation that shows `projections` at `min_position`
    /// (any, without one), taking turns among those that do.
    fn pick(&self, projections: &[Projection], min_position: u64) -> Option<ViewSource> {
        let qualified: Vec<(&ReadReplica, u64)> = self
            .replicas
            .iter()
            .filter_map(|replica| {
                let state = replica.state.borrow();
                let shown = projections
                    .iter()
                    .map(|p| state.applied(*p))
                    .min()
                    .unwrap_or(0);
                (state.in_rotation && shown >= min_position).then_some((replica, shown))
            })
            .collect();
        if qualified.is_empty() {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % qualified.len();
        let (replica, position) = qualified[turn];
        self.replica_reads.increment(1);
        Some(ViewSource {
            reads: replica.reads.clone(),
            position,
            replica: true,
        })
    }

    /// Resolves once replica `name` is in rotation (`true`) or out of it.
    pub async fn until_in_rotation(&self, name: &str, in_rotation: bool) {
        let Some(replica) = self.replicas.iter().find(|r| r.name == name) else {
            return;
        };
        let mut state = replica.state.subscribe();
        let _ = state.wait_for(|s| s.in_rotation == in_rotation).await;
    }

    /// Whether any replica is in rotation.
    pub fn any_in_rotation(&self) -> bool {
        self.replicas.iter().any(|r| r.state.borrow().in_rotation)
    }

    /// A replica showing `projections` at `min_position`, waiting until
    /// `deadline` for one to reach it. `None` once none is in rotation (the
    /// caller reads the primary) or at the deadline.
    pub(crate) async fn source(
        &self,
        projections: &[Projection],
        min_position: u64,
        deadline: Instant,
    ) -> Option<ViewSource> {
        if let Some(source) = self.pick(projections, min_position) {
            return Some(source);
        }
        let mut changes: Vec<_> = self.replicas.iter().map(|r| r.state.subscribe()).collect();
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waited = Waiting(&self.waiting);
        self.waiter_arrived.notify_one();
        loop {
            // Again once subscribed: a change just before is not missed.
            if let Some(source) = self.pick(projections, min_position) {
                return Some(source);
            }
            if !self.any_in_rotation() {
                return None;
            }
            let changed =
                futures::future::select_all(changes.iter_mut().map(|c| Box::pin(c.changed())));
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }

    /// Waits until every replica in rotation shows `projection` at
    /// `position`, or until `deadline`: for changes that must hold on the
    /// very next request, whichever replica it reads.
    pub(crate) async fn settle(&self, projection: Projection, position: u64, deadline: Instant) {
        let mut changes: Vec<_> = self.replicas.iter().map(|r| r.state.subscribe()).collect();
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waited = Waiting(&self.waiting);
        self.waiter_arrived.notify_one();
        loop {
            let behind = self.replicas.iter().any(|r| {
                let state = r.state.borrow();
                state.in_rotation && state.applied(projection) < position
            });
            if !behind {
                return;
            }
            let changed =
                futures::future::select_all(changes.iter_mut().map(|c| Box::pin(c.changed())));
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return;
            }
        }
    }

    /// Polls every replica's checkpoints until the node stops, taking out
    /// of rotation those that fail or lag, and putting them back.
    pub async fn follow(self, primary: ViewPositions) {
        if self.replicas.is_empty() {
            return;
        }
        // The primary's positions as they were a while ago: what a replica
        // in rotation must have reached by now.
        let mut history: VecDeque<(Instant, [u64; Projection::ALL.len()])> = VecDeque::new();
        loop {
            let now = Instant::now();
            history.push_back((now, Projection::ALL.map(|p| primary.current(p))));
            while history
                .get(1)
                .is_some_and(|(at, _)| now.duration_since(*at) >= self.settings.max_lag)
            {
                history.pop_front();
            }
            let required = history
                .front()
                .filter(|(at, _)| now.duration_since(*at) >= self.settings.max_lag)
                .map(|(_, positions)| *positions)
                .unwrap_or_default();
            let polls = self
                .replicas
                .iter()
                .map(|replica| self.poll(replica, &required));
            futures::future::join_all(polls).await;
            let in_rotation = self
                .replicas
                .iter()
                .filter(|r| r.state.borrow().in_rotation);
            metrics::gauge!(READ_REPLICAS_IN_ROTATION).set(in_rotation.count() as f64);
            let pause = if self.waiting.load(Ordering::Acquire) > 0 {
                self.settings.poll_while_waited_on
            } else {
                self.settings.poll_every
            };
            let _ = tokio::time::timeout(pause, self.waiter_arrived.notified()).await;
        }
    }

    async fn poll(&self, replica: &ReadReplica, required: &[u64; Projection::ALL.len()]) {
        let answered = tokio::time::timeout(
            self.settings.answer_within,
            replica.reads.projection_checkpoints(),
        )
        .await;
        let mut next = replica.state.borrow().clone();
        match answered {
            Ok(Ok(rows)) => {
                for row in rows {
                    if let Some(projection) = Projection::from_name(&row.projection) {
                        next.applied[index(projection)] = row.position.max(0) as u64;
                    }
                }
                let lagging = next.applied.iter().zip(required).any(|(a, r)| a < r);
                next.out_because = lagging.then_some("lagging");
            }
            Ok(Err(_)) | Err(_) => next.out_because = Some("unreachable"),
        }
        next.in_rotation = next.out_because.is_none();
        replica.state.send_if_modified(|state| {
            if *state == next {
                return false;
            }
            if state.in_rotation != next.in_rotation {
                match next.out_because {
                    Some(why) => {
                        tracing::warn!(replica = %replica.name, why, "read replica out of rotation")
                    }
                    None => {
                        tracing::info!(replica = %replica.name, "read replica back in rotation")
                    }
                }
            }
            *state = next;
            true
        });
    }
}

/// Counts a waiting read for as long as it waits, cancelled too.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
