//! Every named query is timed: a latency histogram per query, and a counter
//! plus a warning for each one slower than the threshold. This is the
//! monitoring that would have named the outage's query in its first minute.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::ReadModelError;

/// Runs one named query, recording how long it took.
pub(crate) async fn timed<T>(
    query: &'static str,
    slow_after: Duration,
    run: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, ReadModelError> {
    let started = Instant::now();
    let result = run.await;
    let elapsed = started.elapsed();
    metrics::histogram!("resourcify_db_query_duration_seconds", "query" => query)
        .record(elapsed.as_secs_f64());
    if elapsed >= slow_after {
        metrics::counter!("resourcify_db_slow_queries_total", "query" => query).increment(1);
        tracing::warn!(query, elapsed_ms = elapsed.as_millis() as u64, "slow query");
    }
    result.map_err(ReadModelError::from_sqlx(query))
}
