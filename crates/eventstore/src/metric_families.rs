//! The metric families the event store records, named and described here
//! beside the code that records them (the binary describes every crate's at
//! start, see `resourcify::install_metrics`).

use metrics::Unit;
use resourcify_domain::EventType;

/// Events appended to the log, by CloudEvents type.
pub const EVENTS_APPENDED: &str = "resourcify_events_appended_total";

/// Every family the event store records.
pub const METRIC_FAMILIES: &[&str] = &[EVENTS_APPENDED];

/// Describes the families and registers every event type with zero, so a
/// fresh node lists them before its first append.
pub fn describe_metrics() {
    metrics::describe_counter!(
        EVENTS_APPENDED,
        Unit::Count,
        "Events appended to the log (duplicates not counted), by CloudEvents type."
    );
    for event_type in EventType::ALL {
        metrics::counter!(EVENTS_APPENDED, "type" => event_type.ce_type()).increment(0);
    }
}
