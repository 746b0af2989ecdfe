//! A node's live projectors: one reader follows the log and hands each run
//! of events to every projection's worker, which applies it in batches.
//!
//! One reader, not one per projection: NATS delivers each event once and
//! this process parses its headers once, and its payload once whichever
//! projections read it (`RawEvent::decoded`). The reader also keeps pulling
//! while the workers write, so a worker that finishes a batch finds the
//! next one waiting instead of asking NATS for it then.

use std::sync::Arc;

use futures::StreamExt;
use resourcify_eventstore::{EventStore, RawEvent};
use resourcify_readmodel::projections::{Projection, Upkeep};
use resourcify_readmodel::{ReadModel, ViewNotice};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::engine::{BatchOutcome, apply_events};
use crate::metric_families::{DEAD_LETTERS, LOST_COMMITS};
use crate::retry::Backoff;

#[derive(Debug, Clone)]
pub struct ProjectorSettings {
    /// The most events applied in one transaction.
    pub batch_size: usize,
    /// How batches keep the derived rows (lists, vote and tag counts).
    /// Anything but the default leaves rows that reads use unbuilt: only
    /// `just bench-projection` defers them, in a database of its own, to
    /// measure what keeping them costs (ADR 13).
    pub derived_rows: Upkeep,
}

impl Default for ProjectorSettings {
    fn default() -> Self {
        Self {
            batch_size: 2_000,
            derived_rows: Upkeep::Incremental,
        }
    }
}

/// Runs of events the reader may hold ready for a worker beyond the one it
/// is applying: enough to fill the next batch, little enough that a worker
/// that fell behind holds the reader back (and with it NATS) instead of
/// letting memory grow.
const RUNS_AHEAD: usize = 16;

/// A run of consecutive events, shared by every worker.
type Run = Arc<[RawEvent]>;

/// The projectors of `projections`, run until the task is dropped.
/// Aborting at any point is safe: an open transaction rolls back, and the
/// next start resumes each projection from its committed checkpoint.
#[derive(Debug, Clone)]
pub struct Projectors {
    pub projections: Vec<Projection>,
    pub store: EventStore,
    pub pool: PgPool,
    pub nats: async_nats::Client,
    pub settings: ProjectorSettings,
}

impl Projectors {
    pub async fn run(self) {
        self.run_until(std::future::pending()).await;
    }

    /// Runs until `stop` resolves, then reads no further: each worker
    /// commits the batches it was already handed and ends, and this returns
    /// once they all have (a shutdown that leaves nothing half done; the
    /// next start resumes from the checkpoints either way).
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        // Dropping the set (when this task is dropped) aborts the workers.
        let mut workers = JoinSet::new();
        let mut inboxes = Vec::new();
        for &projection in &self.projections {
            let (inbox, runs) = mpsc::channel(RUNS_AHEAD);
            inboxes.push(inbox);
            let worker = Worker {
                projection,
                projectors: self.clone(),
                applied_up_to: 0,
            };
            workers.spawn(worker.run(runs));
        }
        let mut next = tokio::select! {
            next = self.first_needed() => next,
            () = &mut stop => return,
        };
        let mut backoff = Backoff::new();
        loop {
            let (reached, ended) = tokio::select! {
                forwarded = self.forward(next, &mut inboxes) => forwarded,
                () = &mut stop => break,
            };
            if reached >= next {
                next = reached + 1;
                backoff.reset();
            }
            if inboxes.is_empty() {
                tracing::error!("every projector stopped; the reader stops too");
                return;
            }
            match ended {
                Ok(()) => tracing::warn!(next, "event feed ended; reopening"),
                Err(error) => tracing::warn!(next, %error, "event feed interrupted; reopening"),
            }
            tokio::select! {
                () = backoff.wait() => {}
                () = &mut stop => break,
            }
        }
        // No more runs: each worker drains its inbox, commits, and ends.
        drop(inboxes);
        while workers.join_next().await.is_some() {}
        tracing::info!("projectors stopped after their last batch");
    }

    /// The first position some projection has not applied.
    async fn first_needed(&self) -> u64 {
        let reads = ReadModel::new(self.pool.clone(), std::time::Duration::from_secs(1));
        let mut backoff = Backoff::new();
        loop {
            let mut lowest = u64::MAX;
            let mut failed = None;
            for projection in &self.projections {
                match reads.projection_checkpoint(projection.name()).await {
                    Ok(checkpoint) => lowest = lowest.min(checkpoint),
                    Err(error) => failed = Some(error),
                }
            }
            match failed {
                None => {
                    tracing::info!(from = lowest + 1, "projectors following the log");
                    return lowest.saturating_add(1);
                }
                Some(error) => {
                    tracing::warn!(%error, "cannot read checkpoints; retrying");
                    backoff.wait().await;
                }
            }
        }
    }

    /// Reads the log from `from` and hands every run to every worker, until
    /// the feed ends or fails. Returns the last position handed over (or
    /// `from - 1`) and why it stopped. A worker that has stopped (a bug) is
    /// dropped from `inboxes` so the others go on.
    async fn forward(
        &self,
        from: u64,
        inboxes: &mut Vec<mpsc::Sender<Run>>,
    ) -> (u64, Result<(), String>) {
        let mut reached = from.saturating_sub(1);
        let feed = match self.store.feed_after(reached).await {
            Ok(feed) => feed,
            Err(error) => return (reached, Err(error.to_string())),
        };
        let mut runs = feed.ready_chunks(self.settings.batch_size);
        while let Some(items) = runs.next().await {
            let mut events = Vec::with_capacity(items.len());
            let mut failure = None;
            for item in items {
                match item {
                    Ok(event) => events.push(event),
                    Err(error) => {
                        failure = Some(error.to_string());
                        break;
                    }
                }
            }
            if let Some(last) = events.last() {
                reached = last.position;
                let run: Run = events.into();
                for inbox in inboxes.iter() {
                    if inbox.send(run.clone()).await.is_err() {
                        tracing::error!("a projector stopped; the others go on");
                    }
                }
                inboxes.retain(|inbox| !inbox.is_closed());
            }
            if let Some(error) = failure {
                return (reached, Err(error));
            }
        }
        (reached, Ok(()))
    }
}

/// Times a projection found that the database had lost commits it saw
/// succeed, and applied the events again.
fn lost_commits(projection: Projection) -> metrics::Counter {
    metrics::counter!(LOST_COMMITS, "projection" => projection.name())
}

/// What became of a batch.
enum Committed {
    Applied(BatchOutcome),
    /// Not applied: the checkpoint was behind the worker's last commit.
    Behind {
        checkpoint: u64,
    },
}

/// Applies one projection's share of the log, a batch per transaction.
struct Worker {
    projection: Projection,
    projectors: Projectors,
    /// The checkpoint as of this worker's last commit: events at or below
    /// it are skipped without asking Postgres. It may lag the saved one
    /// (a replay moves it on), never lead it, and the transaction checks
    /// again.
    applied_up_to: u64,
}

impl Worker {
    async fn run(mut self, mut runs: mpsc::Receiver<Run>) {
        // Shown at zero from the start, so an alert can watch it rise.
        lost_commits(self.projection).increment(0);
        let batch_size = self.projectors.settings.batch_size;
        // A run that did not fit in the last batch opens the next one.
        let mut carried: Option<Run> = None;
        loop {
            let first = match carried.take() {
                Some(run) => run,
                None => match runs.recv().await {
                    Some(run) => run,
                    None => return,
                },
            };
            // Whatever else is waiting joins the batch, up to its size:
            // a worker that falls behind catches up in larger transactions.
            // The size counts only the events this projection reads: the
            // others cost the transaction nothing, and a projection that
            // reads few of them (flags, news) passes many runs in one
            // commit instead of a commit per run.
            let mut len = self.own_events(&first);
            let mut batch = vec![first];
            while let Ok(run) = runs.try_recv() {
                let own = self.own_events(&run);
                if len + own > batch_size {
                    carried = Some(run);
                    break;
                }
                len += own;
                batch.push(run);
            }
            let events: Vec<&RawEvent> = batch
                .iter()
                .flat_map(|run| run.iter())
                .filter(|event| event.position > self.applied_up_to)
                .collect();
            if !events.is_empty() {
                self.commit_with_retry(&events).await;
            }
        }
    }

    /// How many of `run`'s events this worker's projection reads.
    fn own_events(&self, run: &Run) -> usize {
        run.iter()
            .filter(|event| self.projection.reads_ce_type(event.ce_type.as_deref()))
            .count()
    }

    /// A batch that fails for transient reasons (Postgres down) is retried
    /// until it commits: nothing is skipped and nothing becomes a dead letter.
    /// If the database lost commits, what it lost is applied again first.
    async fn commit_with_retry(&mut self, batch: &[&RawEvent]) {
        let mut backoff = Backoff::new();
        // Whether events between the checkpoint and the batch are owed.
        let mut owed = false;
        loop {
            let failure = if owed {
                match self.reapply_before(batch[0].position).await {
                    Ok(()) => {
                        owed = false;
                        continue;
                    }
                    Err(error) => error,
                }
            } else {
                match self.commit(batch).await {
                    Ok(Committed::Applied(outcome)) => {
                        self.committed(outcome).await;
                        return;
                    }
                    Ok(Committed::Behind { checkpoint }) => {
                        lost_commits(self.projection).increment(1);
                        tracing::warn!(
                            projection = self.projection.name(),
                            checkpoint,
                            committed = self.applied_up_to,
                            "the database lost commits; applying the events again"
                        );
                        self.applied_up_to = checkpoint;
                        owed = true;
                        continue;
                    }
                    Err(error) => error.to_string(),
                }
            };
            tracing::warn!(projection = self.projection.name(), error = %failure, "batch failed; retrying");
            backoff.wait().await;
        }
    }

    /// Commits `batch` unless the checkpoint is behind this worker's last
    /// commit, which only a database that lost commits can do (a failover
    /// to a replica that had not received them, a restored backup). The
    /// events in between are not in `batch`: the reader has passed them.
    async fn commit(&self, batch: &[&RawEvent]) -> sqlx::Result<Committed> {
        let mut tx = self.projectors.pool.begin().await?;
        let outcome = apply_events(
            &mut tx,
            self.projection,
            batch,
            self.projectors.settings.derived_rows,
        )
        .await?;
        if outcome.found < self.applied_up_to {
            tx.rollback().await?;
            return Ok(Committed::Behind {
                checkpoint: outcome.found,
            });
        }
        tx.commit().await?;
        Ok(Committed::Applied(outcome))
    }

    /// Applies again, read afresh from the log, the events after the
    /// checkpoint and before `until`. Stopped by a failure, it resumes
    /// after what it committed.
    async fn reapply_before(&mut self, until: u64) -> Result<(), String> {
        let feed = self
            .projectors
            .store
            .feed_after(self.applied_up_to)
            .await
            .map_err(|e| e.to_string())?;
        let mut lost = feed
            .take_while(|item| {
                std::future::ready(item.as_ref().map_or(true, |e| e.position < until))
            })
            .ready_chunks(self.projectors.settings.batch_size);
        while let Some(items) = lost.next().await {
            let events: Vec<RawEvent> = items
                .into_iter()
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            let events: Vec<&RawEvent> = events.iter().collect();
            match self.commit(&events).await.map_err(|e| e.to_string())? {
                Committed::Applied(outcome) => self.committed(outcome).await,
                Committed::Behind { checkpoint } => {
                    self.applied_up_to = checkpoint;
                    return Err(format!("the checkpoint went back again, to {checkpoint}"));
                }
            }
        }
        Ok(())
    }

    async fn committed(&mut self, outcome: BatchOutcome) {
        // Counted once committed, so a retried batch is not counted twice.
        metrics::counter!(DEAD_LETTERS, "projection" => self.projection.name())
            .increment(outcome.dead_lettered as u64);
        self.applied_up_to = outcome.checkpoint;
        self.announce(outcome).await;
    }

    async fn announce(&self, outcome: BatchOutcome) {
        let notice = ViewNotice {
            projection: self.projection.name().to_owned(),
            position: outcome.checkpoint,
            keys: outcome.touched,
        };
        let subject = self
            .projectors
            .store
            .namespace()
            .view_notice_subject(self.projection.name());
        let payload = serde_json::to_vec(&notice).expect("notices serialise");
        // Best effort: API nodes also poll the checkpoint, so a lost notice
        // delays a waiter but never wrongs it.
        if let Err(error) = self.projectors.nats.publish(subject, payload.into()).await {
            tracing::warn!(%error, "could not publish view notice");
        }
    }
}
