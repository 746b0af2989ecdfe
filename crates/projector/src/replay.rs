//! Replay: rebuild a projection's tables from the first event, beside the
//! live ones, while the live ones go on serving; then switch over in one
//! transaction. An interrupted replay resumes where it stopped.

use std::time::{Duration, Instant};

use futures::StreamExt;
use resourcify_eventstore::{EventStore, RawEvent};
use resourcify_readmodel::projections::{Projection, Upkeep};
use resourcify_readmodel::replay::{
    IndexedTables, build_indexes, discard_replay, drop_retired, lock_live_checkpoint,
    prepare_replay, replay_connect_options, switch_over,
};
use resourcify_readmodel::{PgFailure, PoolSettings, connect, lock_checkpoint, save_checkpoint};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Acquire, ConnectOptions, Connection, PgConnection};
use tokio::sync::mpsc;

use crate::metric_families::{REPLAY_ETA, REPLAY_LAG_EVENTS, REPLAY_POSITION};
use crate::{apply_batch, apply_batch_with};

/// How a replay runs.
#[derive(Debug, Clone)]
pub struct ReplaySettings {
    /// The most events applied in one transaction.
    pub batch_size: usize,
    /// Start from the first event even if an earlier replay left progress.
    pub restart: bool,
    pub pace: ReplayPace,
}

/// How hard a replay of several projections works the database while the
/// live views serve reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayPace {
    /// Each batch is applied to one projection after another, then the
    /// replay rests twice as long as it worked; each projection's tables
    /// are finished (derived, then indexed, then switched) after the one
    /// before. The replay takes at most one of the database's cores, a
    /// third of the time, and the live reads keep the rest: their p99
    /// stays within 1.5× of idle (issue #23; at half the time it did not,
    /// see docs/benchmarks.md). It takes four to five times as long as a
    /// replay at full speed.
    #[default]
    Gentle,
    /// Each batch is applied to every projection at once, a connection
    /// each: as fast as the database goes, for a rebuild with no traffic.
    FullSpeed,
}

impl ReplayPace {
    /// How many projections apply a batch at once.
    fn writers(self, projections: usize) -> usize {
        match self {
            Self::Gentle => 1,
            Self::FullSpeed => projections.max(1),
        }
    }

    /// How long to rest after `worked` applying a batch. The rest is
    /// what the live reads get; the process's lower CPU priority (see
    /// `resourcify replay`) covers only its own threads, not Postgres's.
    fn rest_after(self, worked: Duration) -> Duration {
        match self {
            Self::Gentle => worked * 2,
            Self::FullSpeed => Duration::ZERO,
        }
    }
}

impl Default for ReplaySettings {
    fn default() -> Self {
        Self {
            batch_size: 10_000,
            restart: false,
            pace: ReplayPace::default(),
        }
    }
}

/// Where a replay is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayProgress {
    pub projection: Projection,
    /// The position applied so far.
    pub position: u64,
    /// The head of the log when last looked at.
    pub head: u64,
    /// Events applied per second so far in this run.
    pub rate: f64,
}

impl ReplayProgress {
    /// Events between the position and the head.
    pub fn remaining(&self) -> u64 {
        self.head.saturating_sub(self.position)
    }

    /// How long until the replay reaches the head at its rate so far; zero
    /// once it has, `None` while it has no rate yet.
    pub fn eta(&self) -> Option<Duration> {
        let remaining = self.remaining();
        if remaining == 0 {
            return Some(Duration::ZERO);
        }
        (self.rate > 0.0).then(|| Duration::from_secs_f64(remaining as f64 / self.rate))
    }

    /// The progress as gauges, for a dashboard of a long replay.
    fn record(&self) {
        let projection = self.projection.name();
        metrics::gauge!(REPLAY_POSITION, "projection" => projection).set(self.position as f64);
        metrics::gauge!(REPLAY_LAG_EVENTS, "projection" => projection).set(self.remaining() as f64);
        if let Some(eta) = self.eta() {
            metrics::gauge!(REPLAY_ETA, "projection" => projection).set(eta.as_secs_f64());
        }
    }
}

/// What a finished replay did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayReport {
    pub projection: Projection,
    /// Where an interrupted earlier run had got to (0 for a fresh start).
    pub resumed_from: u64,
    /// Events read from the log in this run.
    pub events: u64,
    pub elapsed: Duration,
    /// The position the new tables took over at.
    pub switched_at: u64,
}

impl ReplayReport {
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("a replay of {0} is already running")]
    AlreadyRunning(&'static str),
    #[error("the event log is unavailable: {0}")]
    EventStore(#[from] resourcify_eventstore::EventStoreError),
    #[error("the read model is unavailable: {0}")]
    Database(#[from] sqlx::Error),
    /// Postgres came back without the replay's last commits (they do not
    /// wait for the disk). Going on would leave a gap in the tables.
    #[error(
        "the database lost the replay of {projection} after position {kept} \
         (it had committed up to {committed}); run the replay again to resume from {kept}"
    )]
    LostCommits {
        projection: &'static str,
        kept: u64,
        committed: u64,
    },
}

/// Rebuilds `projection` in the database `database` names and switches
/// over. `progress` is called after every batch.
pub async fn replay(
    store: &EventStore,
    database: &PgConnectOptions,
    projection: Projection,
    settings: &ReplaySettings,
    progress: impl FnMut(ReplayProgress),
) -> Result<ReplayReport, ReplayError> {
    let mut reports = replay_all(store, database, &[projection], settings, progress).await?;
    Ok(reports.remove(0))
}

/// Rebuilds several projections at once from one reading of the log: each
/// batch is read once and applied to every projection side by side (each
/// in its own transaction, on its own connection), then each switches over
/// on its own. `progress` is called for each projection after every batch.
pub async fn replay_all(
    store: &EventStore,
    database: &PgConnectOptions,
    projections: &[Projection],
    settings: &ReplaySettings,
    mut progress: impl FnMut(ReplayProgress),
) -> Result<Vec<ReplayReport>, ReplayError> {
    let started = Instant::now();
    let mut rebuilds = futures::future::try_join_all(
        projections
            .iter()
            .map(|&projection| Rebuild::start(database, projection, settings)),
    )
    .await?;
    tracing::info!(
        prepare_secs = started.elapsed().as_secs_f64(),
        "replay tables prepared"
    );
    let from = rebuilds.iter().map(|r| r.position).min().unwrap_or(0);
    let mut head = store.head().await?;
    let mut head_checked = Instant::now();
    let mut batches = read_ahead(store, from, settings.batch_size).await?;
    tracing::info!(
        open_secs = started.elapsed().as_secs_f64(),
        "replay reading the log"
    );

    // Catch up with the log as it was, then as it is. Where the time goes
    // (waiting for the log, or writing) is logged: it says what to tune.
    let (mut reading, mut writing) = (Duration::ZERO, Duration::ZERO);
    let writers = settings.pace.writers(rebuilds.len());
    while rebuilds.iter().any(|r| r.position < head) {
        let waited = Instant::now();
        let Some(batch) = batches.recv().await else {
            break;
        };
        reading += waited.elapsed();
        let batch = batch?;
        let wrote = Instant::now();
        for side_by_side in rebuilds.chunks_mut(writers) {
            futures::future::try_join_all(side_by_side.iter_mut().map(|r| r.apply(&batch))).await?;
        }
        writing += wrote.elapsed();
        tokio::time::sleep(settings.pace.rest_after(wrote.elapsed())).await;
        if head_checked.elapsed() > Duration::from_secs(1)
            || rebuilds.iter().all(|r| r.position >= head)
        {
            head = store.head().await?;
            head_checked = Instant::now();
        }
        for rebuild in &rebuilds {
            let now = ReplayProgress {
                projection: rebuild.projection,
                position: rebuild.position,
                head,
                rate: (rebuild.position - rebuild.resumed_from) as f64
                    / started.elapsed().as_secs_f64(),
            };
            now.record();
            progress(now);
        }
    }
    drop(batches);
    tracing::info!(
        reading_secs = reading.as_secs_f64(),
        writing_secs = writing.as_secs_f64(),
        "replay caught up with the log"
    );
    let finish = |r: Rebuild| r.finish(store, settings, started);
    match settings.pace {
        ReplayPace::FullSpeed => {
            futures::future::try_join_all(rebuilds.into_iter().map(finish)).await
        }
        ReplayPace::Gentle => {
            let mut reports = Vec::with_capacity(rebuilds.len());
            for rebuild in rebuilds {
                reports.push(finish(rebuild).await?);
            }
            Ok(reports)
        }
    }
}

/// The log after `position` in batches, read by a task of its own a few
/// batches ahead, so that reading overlaps with writing the views.
async fn read_ahead(
    store: &EventStore,
    position: u64,
    batch_size: usize,
) -> Result<mpsc::Receiver<Result<Vec<RawEvent>, ReplayError>>, ReplayError> {
    let feed = store.feed_after(position).await?;
    let (sender, receiver) = mpsc::channel(4);
    tokio::spawn(async move {
        // Full batches: the log is there to be read, so waiting a moment for
        // a batch to fill costs less than committing many small ones.
        let mut batches = std::pin::pin!(tokio_stream::StreamExt::chunks_timeout(
            feed,
            batch_size,
            Duration::from_millis(50)
        ));
        while let Some(batch) = batches.next().await {
            let batch = batch
                .into_iter()
                .collect::<Result<Vec<RawEvent>, _>>()
                .map_err(ReplayError::from);
            // The replay stopped reading: so do we.
            if sender.send(batch).await.is_err() {
                break;
            }
        }
    });
    Ok(receiver)
}

/// One projection's replay under way.
struct Rebuild {
    projection: Projection,
    /// Holds the advisory lock that makes this the projection's only replay.
    guard: PgConnection,
    /// Connections whose `search_path` writes the replay tables.
    pool: sqlx::PgPool,
    resumed_from: u64,
    position: u64,
    /// Whether `position` is ahead of the saved checkpoint.
    unsaved: bool,
    /// The checkpoint as of the replay's last commit.
    committed: u64,
    /// Time spent applying batches.
    busy: Duration,
}

impl Rebuild {
    async fn start(
        database: &PgConnectOptions,
        projection: Projection,
        settings: &ReplaySettings,
    ) -> Result<Self, ReplayError> {
        let name = projection.name();
        // One replay per projection at a time. The lock lives as long as
        // this connection of its own, so a replay that dies does not keep it.
        let mut guard = database.connect().await?;
        let mut attempts = 0;
        loop {
            let locked: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('replay:' || $1))")
                    .bind(name)
                    .fetch_one(&mut guard)
                    .await?;
            if locked {
                break;
            }
            // A replay that was just stopped may take a moment to let go.
            attempts += 1;
            if attempts == 20 {
                return Err(ReplayError::AlreadyRunning(name));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if settings.restart {
            discard_replay(&mut guard, projection).await?;
        }
        let resumed_from = prepare_replay(&mut guard, projection).await?;
        let pool_settings = PoolSettings {
            // Applying takes one; deriving up to three (see `Projection::derive`).
            max_connections: 3,
            // Deriving, catching up and switching over take as long as they take.
            statement_timeout: Duration::from_secs(600),
            ..PoolSettings::default()
        };
        let pool = connect(
            replay_connect_options(database.clone(), projection),
            &pool_settings,
        )
        .await?;
        Ok(Self {
            projection,
            guard,
            pool,
            resumed_from,
            position: resumed_from,
            unsaved: false,
            committed: resumed_from,
            busy: Duration::ZERO,
        })
    }

    async fn apply(&mut self, batch: &[RawEvent]) -> Result<(), ReplayError> {
        if batch
            .last()
            .is_none_or(|last| last.position <= self.position)
        {
            return Ok(());
        }
        let projection = self.projection;
        let concerns = |e: &RawEvent| {
            e.position > self.position && projection.reads_ce_type(e.ce_type.as_deref())
        };
        if !batch.iter().any(concerns) {
            // Most projections read few of the events; committing only a
            // checkpoint for each batch of the others would take CPU from
            // those that have work. The checkpoint catches up with the next
            // commit, or before the tables are finished; after an
            // interruption these events are read again, and skipped again.
            self.position = batch.last().map_or(self.position, |e| e.position);
            self.unsaved = true;
            return Ok(());
        }
        let started = Instant::now();
        let mut tx = self.pool.begin().await?;
        // Nobody reads these tables yet: lists and counts are derived once,
        // at the end, instead of rewritten with every batch.
        let outcome = apply_batch_with(&mut tx, self.projection, batch, Upkeep::Deferred).await?;
        self.check_kept(outcome.found)?;
        tx.commit().await?;
        self.position = outcome.checkpoint;
        self.committed = self.position;
        self.unsaved = false;
        self.busy += started.elapsed();
        Ok(())
    }

    /// Saves `position` as the replay's checkpoint if it is ahead.
    async fn save_position(&mut self) -> Result<(), ReplayError> {
        let mut tx = self.pool.begin().await?;
        let kept = lock_checkpoint(&mut tx, self.projection.name()).await?;
        self.check_kept(kept)?;
        if self.unsaved {
            save_checkpoint(&mut tx, self.projection.name(), self.position).await?;
            tx.commit().await?;
            self.committed = self.position;
            self.unsaved = false;
        }
        Ok(())
    }

    /// Fails if the replay's checkpoint as the database `kept` it is behind
    /// the replay's last commit. Only a database that lost commits does
    /// that, and the events in between are behind the reader.
    fn check_kept(&self, kept: u64) -> Result<(), ReplayError> {
        if kept < self.committed {
            return Err(ReplayError::LostCommits {
                projection: self.projection.name(),
                kept,
                committed: self.committed,
            });
        }
        Ok(())
    }

    /// Derives, indexes, switches over and drops the old tables.
    async fn finish(
        mut self,
        store: &EventStore,
        settings: &ReplaySettings,
        started: Instant,
    ) -> Result<ReplayReport, ReplayError> {
        let (projection, batch_size) = (self.projection, settings.batch_size);
        self.save_position().await?;
        // Deriving and indexing the base tables need each other's results
        // no more than they need the same core: at full speed they run side
        // by side, on connections of their own; a gentle replay takes one
        // core at a time.
        let finishing = Instant::now();
        let derive = async {
            let started = Instant::now();
            // From here on, every batch (the switch's catch-up) keeps the
            // derived rows itself.
            projection.derive(&self.pool).await?;
            Ok::<_, sqlx::Error>(started.elapsed())
        };
        let index_base = async {
            let started = Instant::now();
            build_indexes(&mut self.guard, projection, IndexedTables::Base).await?;
            Ok(started.elapsed())
        };
        let (derived, base_indexed) = match settings.pace {
            ReplayPace::FullSpeed => tokio::try_join!(derive, index_base)?,
            ReplayPace::Gentle => (derive.await?, index_base.await?),
        };
        build_indexes(&mut self.guard, projection, IndexedTables::Derived).await?;
        tracing::info!(
            projection = projection.name(),
            apply_secs = self.busy.as_secs_f64(),
            derive_secs = derived.as_secs_f64(),
            base_index_secs = base_indexed.as_secs_f64(),
            finish_secs = finishing.elapsed().as_secs_f64(),
            "replay tables complete"
        );

        // The switch: with the live checkpoint locked, the live projector
        // waits; the replay applies whatever the live one had applied beyond
        // it, then its tables take the live ones' place. If readers hold the
        // live tables too long, the attempt gives way and is made again.
        let mut attempts = 0;
        let switched_at = loop {
            attempts += 1;
            match switch(store, &self.pool, projection, batch_size, self.position).await {
                Ok(switched) => break switched,
                Err(ReplayError::Database(e)) if is_lock_timeout(&e) && attempts < 100 => {
                    tracing::debug!(attempts, "switch-over gave way to readers");
                    tokio::time::sleep(Duration::from_millis(20 * attempts.min(10))).await;
                }
                Err(other) => return Err(other),
            }
        };
        let position = self.position.max(switched_at);
        self.pool.close().await;
        drop_retired(&mut self.guard, projection).await?;
        self.guard.close().await?;
        tracing::info!(
            projection = projection.name(),
            switched_at,
            attempts,
            "replay switched over"
        );
        Ok(ReplayReport {
            projection,
            resumed_from: self.resumed_from,
            events: position - self.resumed_from,
            elapsed: started.elapsed(),
            switched_at,
        })
    }
}

/// One attempt at the switch-over, in one transaction: lock the live
/// checkpoint, apply what the live projection has beyond `position`, put
/// the tables in place. Returns the position they took over at.
async fn switch(
    store: &EventStore,
    pool: &sqlx::PgPool,
    projection: Projection,
    batch_size: usize,
    mut position: u64,
) -> Result<u64, ReplayError> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    // The replay's own checkpoint, which deriving and indexing left alone.
    let kept = lock_checkpoint(&mut tx, projection.name()).await?;
    if kept < position {
        return Err(ReplayError::LostCommits {
            projection: projection.name(),
            kept,
            committed: position,
        });
    }
    let live_position = lock_live_checkpoint(&mut tx, projection).await?;
    if position < live_position {
        let mut batches = store.feed_after(position).await?.ready_chunks(batch_size);
        while position < live_position {
            let Some(batch) = batches.next().await else {
                break;
            };
            let batch = batch.into_iter().collect::<Result<Vec<RawEvent>, _>>()?;
            position = apply_batch(&mut tx, projection, &batch).await?.checkpoint;
        }
    }
    let switched_at = switch_over(&mut tx, projection, SWITCH_LOCK_WAIT).await?;
    tx.commit().await?;
    Ok(switched_at)
}

/// How long a switch-over waits for readers to let go of the live tables
/// before it gives way; well under Postgres' deadlock check (1 s).
const SWITCH_LOCK_WAIT: Duration = Duration::from_millis(200);

fn is_lock_timeout(error: &sqlx::Error) -> bool {
    PgFailure::of(error) == PgFailure::LockTimeout
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::{Projection, ReplayPace, ReplayProgress};

    fn progress(position: u64, head: u64, rate: f64) -> ReplayProgress {
        ReplayProgress {
            projection: Projection::Resources,
            position,
            head,
            rate,
        }
    }

    #[test]
    fn a_gentle_replay_writes_one_projection_at_a_time_a_third_of_the_time() {
        let worked = Duration::from_millis(300);
        assert_eq!(ReplayPace::Gentle.writers(9), 1);
        assert_eq!(ReplayPace::Gentle.rest_after(worked), worked * 2);
        assert_eq!(ReplayPace::FullSpeed.writers(9), 9);
        assert_eq!(ReplayPace::FullSpeed.rest_after(worked), Duration::ZERO);
    }

    #[test]
    fn the_eta_is_what_is_left_at_the_rate_so_far() {
        assert_eq!(
            progress(1_000, 5_000, 2_000.0).eta(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(progress(5_000, 5_000, 0.0).eta(), Some(Duration::ZERO));
        assert_eq!(progress(0, 5_000, 0.0).eta(), None);
    }

    #[test]
    fn progress_is_recorded_as_gauges_per_projection() {
        let recorder = PrometheusBuilder::new().build_recorder();
        metrics::with_local_recorder(&recorder, || progress(1_000, 5_000, 2_000.0).record());
        let metrics = recorder.handle().render();
        for line in [
            "resourcify_replay_position{projection=\"resources\"} 1000",
            "resourcify_replay_lag_events{projection=\"resources\"} 4000",
            "resourcify_replay_eta_seconds{projection=\"resources\"} 2",
        ] {
            assert!(metrics.lines().any(|l| l == line), "{line}\n{metrics}");
        }
    }
}
