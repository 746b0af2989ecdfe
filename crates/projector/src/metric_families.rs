//! The metric families the projectors record, named and described here
//! beside the code that records them (the binary describes every crate's at
//! start, see `resourcify::install_metrics`).

use metrics::Unit;
use resourcify_readmodel::projections::Projection;

/// Times a projection found that the database had lost commits it saw
/// succeed, and applied the events again.
pub const LOST_COMMITS: &str = "resourcify_projection_lost_commits_total";
/// Events parked as dead letters, counted when their batch commits.
pub const DEAD_LETTERS: &str = "resourcify_dead_letters_total";

/// Every family the projectors record.
pub const METRIC_FAMILIES: &[&str] = &[LOST_COMMITS, DEAD_LETTERS];

/// Describes the families and registers every projection with zero, so a
/// fresh node lists them before its first batch.
pub fn describe_metrics() {
    metrics::describe_counter!(
        LOST_COMMITS,
        Unit::Count,
        "Times a projection found the read database had lost commits it saw succeed, and applied the events again, by projection."
    );
    metrics::describe_counter!(
        DEAD_LETTERS,
        Unit::Count,
        "Events a projection could not apply and parked as dead letters, by projection."
    );
    for projection in Projection::ALL {
        let projection = projection.name();
        metrics::counter!(LOST_COMMITS, "projection" => projection).increment(0);
        metrics::counter!(DEAD_LETTERS, "projection" => projection).increment(0);
    }
}
