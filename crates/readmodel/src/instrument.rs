//! Every named query is timed: a latency histogram per query, and a counter
//! plus a warning for each one slower than the threshold. This is the
//! monitoring that would have named the outage's query in its first minute.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::ReadModelError;
use crate::metric_families::{DB_QUERY_DURATION, DB_SLOW_QUERIES};

/// Runs one named query, recording how long it took.
pub(crate) async fn timed<T>(
    query: &'static str,
    slow_after: Duration,
    run: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, ReadModelError> {
    let started = Instant::now();
    let result = run.await;
    let elapsed = started.elapsed();
    metrics::histogram!(DB_QUERY_DURATION, "query" => query).record(elapsed.as_secs_f64());
    if elapsed >= slow_after {
        metrics::counter!(DB_SLOW_QUERIES, "query" => query).increment(1);
        tracing::warn!(query, elapsed_ms = elapsed.as_millis() as u64, "slow query");
    }
    result.map_err(ReadModelError::from_sqlx(query))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use crate::metric_families::NAMED_QUERIES;

    /// The query files `source` runs (`"queries/<name>.sql"`): each is run
    /// through `timed`, by `named_queries!` or by hand, under its name.
    fn timed_names(source: &str) -> impl Iterator<Item = String> + '_ {
        source.split("\"queries/").skip(1).filter_map(|call| {
            let name = &call[..call.find(".sql\"")?];
            let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            plain.then(|| name.to_owned())
        })
    }

    #[test]
    fn the_named_queries_are_the_query_files_and_what_is_timed() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let listed: BTreeSet<String> = NAMED_QUERIES.iter().map(|q| q.to_string()).collect();
        assert_eq!(listed.len(), NAMED_QUERIES.len(), "listed twice");

        let files: BTreeSet<String> = std::fs::read_dir(crate_dir.join("queries"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "sql"))
            .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(listed, files);

        let mut timed = BTreeSet::new();
        for entry in std::fs::read_dir(crate_dir.join("src")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("instrument.rs") {
                timed.extend(timed_names(&std::fs::read_to_string(&path).unwrap()));
            }
        }
        assert_eq!(listed, timed);
    }
}
