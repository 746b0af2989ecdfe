//! The metric families the projectors and replays record, named and
//! described here beside the code that records them (the binary describes
//! every crate's at start, see `resourcify::install_metrics`).

use metrics::Unit;
use resourcify_readmodel::projections::Projection;

/// Times a projection found that the database had lost commits it saw
/// succeed, and applied the events again.
pub const LOST_COMMITS: &str = "resourcify_projection_lost_commits_total";
/// Events parked as dead letters, counted when their batch commits.
pub const DEAD_LETTERS: &str = "resourcify_dead_letters_total";
/// The position a replay has applied, by projection.
pub const REPLAY_POSITION: &str = "resourcify_replay_position";
/// Events between a replay's position and the head of the log.
pub const REPLAY_LAG_EVENTS: &str = "resourcify_replay_lag_events";
/// Seconds until a replay catches up with the log, at its rate so far.
pub const REPLAY_ETA: &str = "resourcify_replay_eta_seconds";

/// Every family the projectors and replays record.
pub const METRIC_FAMILIES: &[&str] = &[
    LOST_COMMITS,
    DEAD_LETTERS,
    REPLAY_POSITION,
    REPLAY_LAG_EVENTS,
    REPLAY_ETA,
];

/// Describes the families and registers every projection with zero, so a
/// fresh node lists them before its first batch or replay.
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
    metrics::describe_gauge!(
        REPLAY_POSITION,
        "The log position a replay of the projection has applied; 0 before one runs."
    );
    metrics::describe_gauge!(
        REPLAY_LAG_EVENTS,
        Unit::Count,
        "Events between a replay's position and the head of the log; 0 once it has caught up, or before one runs."
    );
    metrics::describe_gauge!(
        REPLAY_ETA,
        Unit::Seconds,
        "Seconds until a replay of the projection catches up with the log, at its rate so far; 0 once it has, or before one runs."
    );
    for projection in Projection::ALL {
        let projection = projection.name();
        metrics::counter!(LOST_COMMITS, "projection" => projection).increment(0);
        metrics::counter!(DEAD_LETTERS, "projection" => projection).increment(0);
        // Adding zero lists a gauge without moving it.
        for gauge in [REPLAY_POSITION, REPLAY_LAG_EVENTS, REPLAY_ETA] {
            metrics::gauge!(gauge, "projection" => projection).increment(0.0);
        }
    }
}
