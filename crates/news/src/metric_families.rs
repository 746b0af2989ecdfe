//! The metric families the news ingester records, named and described here
//! beside the code that records them (the binary describes every crate's at
//! start, see `resourcify::install_metrics`).

use metrics::Unit;

/// Feed fetches, by outcome ([`FETCH_OUTCOMES`]).
pub const NEWS_FETCHES: &str = "resourcify_news_fetches_total";
/// News items published as resources.
pub const NEWS_ITEMS_PUBLISHED: &str = "resourcify_news_items_published_total";

/// The `status` of a fetch: its feed read, not modified since the last
/// one, or failed.
pub const FETCH_OUTCOMES: [&str; 3] = ["read", "not-modified", "failed"];

/// Every family the ingester records.
pub const METRIC_FAMILIES: &[&str] = &[NEWS_FETCHES, NEWS_ITEMS_PUBLISHED];

/// Describes the families and registers them with zero, so a fresh node
/// lists them before its first fetch.
pub fn describe_metrics() {
    metrics::describe_counter!(
        NEWS_FETCHES,
        Unit::Count,
        "News source feeds fetched, by outcome (read, not-modified, failed)."
    );
    metrics::describe_counter!(
        NEWS_ITEMS_PUBLISHED,
        Unit::Count,
        "News items published as resources."
    );
    for status in FETCH_OUTCOMES {
        metrics::counter!(NEWS_FETCHES, "status" => status).increment(0);
    }
    metrics::counter!(NEWS_ITEMS_PUBLISHED).increment(0);
}
