//! What a finished load found: its figures, one row of the fault suite's
//! table, and the check of the views against what was acknowledged.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use super::{CLIENT_PATIENCE, Ledger};

/// A finished load: what it sent and what was acknowledged.
#[derive(Debug)]
pub struct LoadRun {
    pub(super) ledger: Ledger,
    pub(super) started: Instant,
    pub(super) stopped_at: Instant,
}

/// What a scenario reports, one line of the suite's table.
#[derive(Debug, Clone)]
pub struct ScenarioFigures {
    pub scenario: String,
    pub attempted: u64,
    pub acknowledged: usize,
    pub lost: usize,
    pub applied_twice: usize,
    pub longest_write_pause: Duration,
    pub reads: u64,
    pub reads_failed: u64,
    pub catch_up: Duration,
    /// Answers no client should see: 500s, unexpected refusals, 503s
    /// without `Retry-After`, requests past the client's patience.
    pub unexpected: Vec<String>,
}

impl ScenarioFigures {
    pub const HEADER: &str = "| scenario | writes attempted | acknowledged | lost | applied twice | longest write pause | reads (failed) | views complete after |\n|---|---|---|---|---|---|---|---|";

    /// Appends this scenario's row to `dir/<scenario>.md`, for CI to print.
    pub fn record(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let name: String = self
            .scenario
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        std::fs::write(dir.join(format!("{name}.md")), format!("{self}\n")).unwrap();
    }
}

impl std::fmt::Display for ScenarioFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "| {} | {} | {} | {} | {} | {:.1} s | {} ({}) | {:.1} s |",
            self.scenario,
            self.attempted,
            self.acknowledged,
            self.lost,
            self.applied_twice,
            self.longest_write_pause.as_secs_f64(),
            self.reads,
            self.reads_failed,
            self.catch_up.as_secs_f64(),
        )
    }
}

impl LoadRun {
    /// The longest time between two acknowledged writes while the load ran
    /// (its start and stop count as bounds).
    fn longest_write_pause(&self) -> Duration {
        let mut times = self.ledger.acknowledged_at.clone();
        times.retain(|t| *t <= self.stopped_at);
        times.sort();
        let bounds = std::iter::once(self.started)
            .chain(times)
            .chain(std::iter::once(self.stopped_at))
            .collect::<Vec<_>>();
        bounds
            .windows(2)
            .map(|w| w[1].duration_since(w[0]))
            .max()
            .unwrap_or_default()
    }

    /// Checks the views (`pool`, caught up) against what was acknowledged.
    pub async fn figures(
        &self,
        scenario: &str,
        pool: &PgPool,
        catch_up: Duration,
    ) -> ScenarioFigures {
        let ledger = &self.ledger;
        let (lost, twice) = count_in_views(ledger, pool).await;
        let mut unexpected = ledger.unexpected.clone();
        if ledger.unavailable_without_retry_after > 0 {
            unexpected.push(format!(
                "{} 503 answers without Retry-After",
                ledger.unavailable_without_retry_after
            ));
        }
        if ledger.hung > 0 {
            unexpected.push(format!(
                "{} requests unanswered within {CLIENT_PATIENCE:?}",
                ledger.hung
            ));
        }
        ScenarioFigures {
            scenario: scenario.to_owned(),
            attempted: ledger.attempted,
            acknowledged: ledger.acknowledged_at.len(),
            lost,
            applied_twice: twice,
            longest_write_pause: self.longest_write_pause(),
            reads: ledger.reads,
            reads_failed: ledger.reads_failed,
            catch_up,
            unexpected,
        }
    }
}

/// Acknowledged writes missing from the views, and writes in them more
/// than once.
async fn count_in_views(ledger: &Ledger, pool: &PgPool) -> (usize, usize) {
    let ids: Vec<Uuid> = ledger.submits.iter().map(|s| s.0).collect();
    let urls: Vec<String> = ledger.submits.iter().map(|s| s.1.clone()).collect();
    let found: Vec<(String, i64)> = sqlx::query_as(
        "SELECT url, count(*) FROM resources WHERE id = ANY($1) OR url = ANY($2) GROUP BY url",
    )
    .bind(&ids)
    .bind(&urls)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut lost = ledger.submits.len() - found.len();
    let mut twice: usize = found
        .iter()
        .map(|(_, n)| (*n as usize).saturating_sub(1))
        .sum();

    let bodies: Vec<String> = ledger.comments.iter().map(|c| c.1.clone()).collect();
    let found: Vec<(String, i64)> =
        sqlx::query_as("SELECT body, count(*) FROM comments WHERE body = ANY($1) GROUP BY body")
            .bind(&bodies)
            .fetch_all(pool)
            .await
            .unwrap();
    lost += ledger.comments.len() - found.len();
    twice += found
        .iter()
        .map(|(_, n)| (*n as usize).saturating_sub(1))
        .sum::<usize>();

    let mut voters: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (resource, voter) in &ledger.votes {
        voters.entry(*resource).or_default().push(*voter);
    }
    for (resource, expected) in voters {
        let recorded: Vec<Uuid> =
            sqlx::query_scalar("SELECT user_id FROM resource_votes WHERE resource_id = $1")
                .bind(resource)
                .fetch_all(pool)
                .await
                .unwrap();
        lost += expected.iter().filter(|v| !recorded.contains(v)).count();
        let counted: Option<i32> =
            sqlx::query_scalar("SELECT votes FROM resource_vote_counts WHERE resource_id = $1")
                .bind(resource)
                .fetch_optional(pool)
                .await
                .unwrap();
        // A vote counted twice shows as a count above the voters.
        twice += (counted.unwrap_or(0) as usize).saturating_sub(recorded.len());
    }
    (lost, twice)
}
