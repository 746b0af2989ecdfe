//! The process-wide Prometheus recorder behind the `metrics` facade, and
//! the HTTP layer's metric families.
//!
//! Each crate names and describes the families it records beside the code
//! that records them (a `metric_families` module, or this one here), and
//! the binary gathers them (`resourcify::install_metrics`): the label
//! values a family takes are known only where it is recorded (projections,
//! queries, event types, routes), and the lower crates cannot see a list
//! kept up here.

use std::sync::OnceLock;

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Answers, by route (the operation id, or `unmatched`), method and status
/// class.
pub const HTTP_REQUESTS: &str = "resourcify_http_requests_total";
/// Time to answer, with the same labels as [`HTTP_REQUESTS`].
pub const HTTP_REQUEST_DURATION: &str = "resourcify_http_request_duration_seconds";
/// Requests refused because a client's budget was used up, by budget.
pub const RATE_LIMITED_REQUESTS: &str = "resourcify_rate_limited_requests_total";

/// Every family the HTTP layer records.
pub const METRIC_FAMILIES: &[&str] = &[HTTP_REQUESTS, HTTP_REQUEST_DURATION, RATE_LIMITED_REQUESTS];

/// Describes the HTTP layer's families. Their label sets are registered
/// with zero where their handles are made at start: every route's in the
/// HTTP metrics (`routes`), every budget's in `RateLimits::new`.
pub fn describe_metrics() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        Unit::Count,
        "HTTP requests answered, by route (the operation id; unmatched when no route answered), method and status class."
    );
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time from receiving an HTTP request to having its answer, by route, method and status class."
    );
    metrics::describe_counter!(
        RATE_LIMITED_REQUESTS,
        Unit::Count,
        "Requests refused with 429 because the client's budget was used up, by budget."
    );
}

/// Latency buckets, in seconds, from half a millisecond to ten seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the recorder on first use and returns its handle. Every crate
/// records through the `metrics` macros; this is the one place they land.
/// Handles made before it is installed record nowhere, so a node installs
/// it before anything else.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first (some test
        // harnesses do); metrics then go there and ours stays empty.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        handle
    })
}
