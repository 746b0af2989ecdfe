//! The metric families the application layer records, named and described
//! here beside the code that records them (the binary describes every
//! crate's at start, see `resourcify::install_metrics`).

use metrics::Unit;
use resourcify_readmodel::projections::Projection;

/// Cache lookups, by cache and result (hit or miss).
pub const CACHE_REQUESTS: &str = "resourcify_cache_requests_total";
/// Whether this node's NATS connection is up (1) or not (0).
pub const NATS_CONNECTED: &str = "resourcify_nats_connected";
/// Whether Postgres answers this node (1) or not (0).
pub const POSTGRES_CONNECTED: &str = "resourcify_postgres_connected";
/// The API pool's connections, by state.
pub const POSTGRES_POOL_CONNECTIONS: &str = "resourcify_postgres_pool_connections";
/// Queries running longer than the threshold.
pub const DB_LONG_RUNNING_QUERIES: &str = "resourcify_db_long_running_queries";
/// The position each projection has applied.
pub const PROJECTION_CHECKPOINT: &str = "resourcify_projection_checkpoint";
/// The head of the log, as each projection's status saw it.
pub const PROJECTION_HEAD: &str = "resourcify_projection_head";
/// Events a projection has not applied yet.
pub const PROJECTION_LAG_EVENTS: &str = "resourcify_projection_lag_events";
/// Age of the oldest event a projection has not applied yet.
pub const PROJECTION_LAG_SECONDS: &str = "resourcify_projection_lag_seconds";
/// Dead letters parked now, waiting for an operator to retry or skip them.
/// Not `resourcify_dead_letters`: that stem is the counter of those parked
/// ever (`resourcify_dead_letters_total`).
pub const DEAD_LETTERS_PENDING: &str = "resourcify_dead_letters_pending";

/// Replicas of the read model that reads may use now.
pub const READ_REPLICAS_IN_ROTATION: &str = "resourcify_read_replicas_in_rotation";
/// View reads, by where they went (`primary` or `replica`).
pub const VIEW_READS: &str = "resourcify_view_reads_total";

/// The `state` of the pool's connections.
pub(crate) const POOL_STATES: [&str; 2] = ["open", "idle"];

/// Every family the application layer records.
pub const METRIC_FAMILIES: &[&str] = &[
    CACHE_REQUESTS,
    NATS_CONNECTED,
    POSTGRES_CONNECTED,
    POSTGRES_POOL_CONNECTIONS,
    DB_LONG_RUNNING_QUERIES,
    PROJECTION_CHECKPOINT,
    PROJECTION_HEAD,
    PROJECTION_LAG_EVENTS,
    PROJECTION_LAG_SECONDS,
    DEAD_LETTERS_PENDING,
    READ_REPLICAS_IN_ROTATION,
    VIEW_READS,
];

/// Where a view read can go.
pub(crate) const READ_SOURCES: [&str; 2] = ["primary", "replica"];

/// Describes the families, and lists the health gauges of every projection
/// and pool state from the start; each cache lists its own when it is made.
pub fn describe_metrics() {
    metrics::describe_counter!(
        CACHE_REQUESTS,
        Unit::Count,
        "Rendered-view cache lookups, by cache and result (hit, miss)."
    );
    metrics::describe_gauge!(
        NATS_CONNECTED,
        "Whether the node's NATS connection is up (1) or not (0)."
    );
    metrics::describe_gauge!(
        POSTGRES_CONNECTED,
        "Whether Postgres answers the node (1) or not (0)."
    );
    metrics::describe_gauge!(
        POSTGRES_POOL_CONNECTIONS,
        Unit::Count,
        "The API pool's connections: open (in use or idle), and idle."
    );
    metrics::describe_gauge!(
        DB_LONG_RUNNING_QUERIES,
        Unit::Count,
        "Queries running longer than RESOURCIFY_LONG_RUNNING_QUERY_MS, from pg_stat_activity."
    );
    metrics::describe_gauge!(
        PROJECTION_CHECKPOINT,
        "The log position the projection has applied."
    );
    metrics::describe_gauge!(
        PROJECTION_HEAD,
        "The head of the log when the projection's status was read."
    );
    metrics::describe_gauge!(
        PROJECTION_LAG_EVENTS,
        Unit::Count,
        "Events the projection has not applied yet."
    );
    metrics::describe_gauge!(
        PROJECTION_LAG_SECONDS,
        Unit::Seconds,
        "Age of the oldest event the projection has not applied yet; 0 when caught up."
    );
    metrics::describe_gauge!(
        DEAD_LETTERS_PENDING,
        Unit::Count,
        "Dead letters parked now for the projection, until an operator retries or skips them."
    );
    metrics::describe_gauge!(
        READ_REPLICAS_IN_ROTATION,
        Unit::Count,
        "Read replicas (RESOURCIFY_READ_DATABASE_URL) answering and caught up, which reads may use."
    );
    metrics::describe_counter!(
        VIEW_READS,
        Unit::Count,
        "Reads of views that reached Postgres, by source: the primary or a replica."
    );
    // Adding zero lists a gauge without moving it (another node of the
    // process may have set it).
    for source in READ_SOURCES {
        metrics::counter!(VIEW_READS, "source" => source).increment(0);
    }
    for gauge in [
        NATS_CONNECTED,
        POSTGRES_CONNECTED,
        DB_LONG_RUNNING_QUERIES,
        READ_REPLICAS_IN_ROTATION,
    ] {
        metrics::gauge!(gauge).increment(0.0);
    }
    for state in POOL_STATES {
        metrics::gauge!(POSTGRES_POOL_CONNECTIONS, "state" => state).increment(0.0);
    }
    for projection in Projection::ALL {
        for gauge in [
            PROJECTION_CHECKPOINT,
            PROJECTION_HEAD,
            PROJECTION_LAG_EVENTS,
            PROJECTION_LAG_SECONDS,
            DEAD_LETTERS_PENDING,
        ] {
            metrics::gauge!(gauge, "projection" => projection.name()).increment(0.0);
        }
    }
}
