//! The metric families the read model records, named and described here
//! beside the code that records them (the binary describes every crate's at
//! start, see `resourcify::install_metrics`).

use metrics::Unit;

use crate::instrument::NAMED_QUERIES;

/// Time each named query took, by query.
pub const DB_QUERY_DURATION: &str = "resourcify_db_query_duration_seconds";
/// Named queries slower than the threshold, by query.
pub const DB_SLOW_QUERIES: &str = "resourcify_db_slow_queries_total";

/// Every family the read model records.
pub const METRIC_FAMILIES: &[&str] = &[DB_QUERY_DURATION, DB_SLOW_QUERIES];

/// Describes the families and registers every named query with zero, so a
/// fresh node lists them before any query is slow.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        DB_QUERY_DURATION,
        Unit::Seconds,
        "Time each named read query took, by query."
    );
    metrics::describe_counter!(
        DB_SLOW_QUERIES,
        Unit::Count,
        "Named read queries that took longer than the slow-query threshold (RESOURCIFY_SLOW_QUERY_MS), by query."
    );
    for query in NAMED_QUERIES {
        // A histogram is listed once it has a handle; recording would count a sample.
        let _listed = metrics::histogram!(DB_QUERY_DURATION, "query" => query);
        metrics::counter!(DB_SLOW_QUERIES, "query" => query).increment(0);
    }
}
