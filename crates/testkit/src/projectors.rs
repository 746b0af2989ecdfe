//! Projectors started and stopped by a test, for tests that control when
//! the views move (restarts, lag, readiness): in the test's process, or as
//! a process of their own for tests that kill them.

use std::process::Command;
use std::time::Duration;

use resourcify_app::ViewPositions;
use resourcify_projector::{Projection, ProjectorSettings, Projectors};
use resourcify_readmodel::PoolSettings;
use tokio::task::JoinHandle;

use crate::TestApp;

/// Running projectors; dropping this stops them, as a crash would.
#[derive(Debug)]
pub struct RunningProjectors(JoinHandle<()>);

impl Drop for RunningProjectors {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `resourcify serve --role projector` over `database_url` and `namespace`,
/// ready to spawn: `binary` is the test's `CARGO_BIN_EXE_resourcify`.
pub fn projector_process(binary: &str, database_url: &str, namespace: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["serve", "--role", "projector", "--no-migrate"])
        .env("DATABASE_URL", database_url)
        .env("NATS_URL", crate::nats_url())
        .env("RESOURCIFY_NAMESPACE", namespace)
        .env("RUST_LOG", "warn")
        // Any free port: projectors of other tests may run beside this one.
        .env("RESOURCIFY_METRICS_LISTEN", "127.0.0.1:0");
    command
}

impl TestApp {
    /// Starts one projector per projection over the test's database, as
    /// `serve` would, applying at most `batch_size` events per transaction.
    pub async fn start_projectors(&self, batch_size: usize) -> RunningProjectors {
        self.start_some_projectors(&Projection::ALL, batch_size)
            .await
    }

    /// Starts the projector of one projection only.
    pub async fn start_projector(
        &self,
        projection: Projection,
        batch_size: usize,
    ) -> RunningProjectors {
        self.start_some_projectors(&[projection], batch_size).await
    }

    /// Starts the projectors of `projections` only, sharing one reader
    /// (as a release that had only these would run them).
    pub async fn start_some_projectors(
        &self,
        projections: &[Projection],
        batch_size: usize,
    ) -> RunningProjectors {
        let pool = resourcify_readmodel::connect(self.database.clone(), &PoolSettings::default())
            .await
            .expect("Postgres answers");
        let projectors = Projectors {
            projections: projections.to_vec(),
            store: self.store.clone(),
            pool,
            nats: self.nats.clone(),
            settings: ProjectorSettings {
                batch_size,
                ..ProjectorSettings::default()
            },
        };
        RunningProjectors(tokio::spawn(projectors.run()))
    }

    /// Waits until every projection has applied the head of the log, and
    /// returns that head. Fails the test if any event was dead-lettered on
    /// the way: a projection that parks good events is a bug.
    pub async fn wait_until_caught_up(&self) -> u64 {
        let head = self.wait_until_caught_up_allowing_dead_letters().await;
        let checkpoints = self
            .reads
            .projection_checkpoints()
            .await
            .expect("checkpoints are readable");
        for checkpoint in checkpoints {
            if checkpoint.dead_letters > 0 {
                let letters = self
                    .reads
                    .dead_letters_after("", -1, 10)
                    .await
                    .expect("dead letters are readable");
                panic!(
                    "{} dead-lettered {} event(s): {letters:#?}",
                    checkpoint.projection, checkpoint.dead_letters
                );
            }
        }
        head
    }

    /// [`Self::wait_until_caught_up`] for tests that dead-letter on purpose.
    pub async fn wait_until_caught_up_allowing_dead_letters(&self) -> u64 {
        let head = self.head().await;
        let positions = ViewPositions::new(self.reads.clone());
        for projection in Projection::ALL {
            positions
                .wait_for(projection, head, Duration::from_secs(10))
                .await
                .unwrap_or_else(|e| panic!("{} did not catch up: {e}", projection.name()));
        }
        head
    }
}
