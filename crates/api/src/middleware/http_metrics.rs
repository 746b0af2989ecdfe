//! Request counts and latency per route and status class.
//!
//! The `route` label is the route's name from the route table (the
//! operation id), or `unmatched`: never a raw path, so the label set stays
//! small whatever clients send. The handles of every route, for its own
//! method and each status class it may answer, are made at start from the
//! table: every route is listed with zero before its first answer, and an
//! answer finds its handles by the route's position, without a lock.
//! Resolving labelled metrics through the registry on every request costs
//! more than the warm read it measures.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Instant;

use metrics::{Counter, Histogram};
use poem::Response;
use poem::http::Method;
use poem_openapi::OperationId;

use crate::route_names::{RouteNames, UNMATCHED};
use crate::telemetry::{HTTP_REQUEST_DURATION, HTTP_REQUESTS};

/// The status classes a route's handles may be made for at start, from 2xx.
const CLASSES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

/// Whether a route is listed at start with answers of `class`: any route
/// may succeed, refuse (the contract's checks, the rate limits) or fail
/// (503), but only some redirect or answer 304, as the document says.
fn may_answer(statuses: &[u16], class: &str) -> bool {
    class != "3xx" || statuses.iter().any(|status| status / 100 == 3)
}

/// The counter and histogram of one label set.
struct Handles {
    requests: Counter,
    duration: Histogram,
}

impl Handles {
    fn new(route: &'static str, method: &'static str, status: &'static str) -> Self {
        let labels = [("route", route), ("method", method), ("status", status)];
        Self {
            requests: metrics::counter!(HTTP_REQUESTS, &labels),
            duration: metrics::histogram!(HTTP_REQUEST_DURATION, &labels),
        }
    }
}

/// Labels outside the table's own: (route, method, status class).
type OtherLabels = (&'static str, &'static str, &'static str);

/// Resolved metric handles, shared by every request of a node.
pub(crate) struct HttpMetrics {
    names: &'static RouteNames,
    /// Per route of the table, in its order: the handles for the route's
    /// own method, by status class.
    routes: Vec<[Option<Handles>; CLASSES.len()]>,
    /// Everything else (unmatched answers, HEAD on a GET route, 1xx):
    /// registered on first use, and kept.
    others: RwLock<HashMap<OtherLabels, Handles, foldhash::fast::RandomState>>,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn status_label(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

impl HttpMetrics {
    /// Registers every route of `names` with zero answers.
    pub(crate) fn new(names: &'static RouteNames) -> Self {
        let routes = names
            .routes()
            .iter()
            .map(|route| {
                let method = method_label(&route.method);
                CLASSES.map(|status| {
                    may_answer(&route.statuses, status)
                        .then(|| Handles::new(route.id, method, status))
                })
            })
            .collect();
        Self {
            names,
            routes,
            others: RwLock::default(),
        }
    }

    /// Counts one answered request and how long it took.
    pub(crate) fn record(&self, method: &Method, started: Instant, response: &Response) {
        let elapsed = started.elapsed().as_secs_f64();
        let status = response.status().as_u16();
        // poem-openapi names the operation it routed to on the answer; the
        // routes beside it and the refusals made before routing name theirs
        // the same way (see `lib.rs` and `contract`).
        let route = response.data::<OperationId>().map(|operation| operation.0);
        let record = |handles: &Handles| {
            handles.requests.increment(1);
            handles.duration.record(elapsed);
        };
        if let Some(handles) = route.and_then(|route| self.own(route, method, status)) {
            return record(handles);
        }
        let labels = (
            route.unwrap_or(UNMATCHED),
            method_label(method),
            status_label(status),
        );
        if let Some(found) = self
            .others
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&labels)
        {
            return record(found);
        }
        let handles = Handles::new(labels.0, labels.1, labels.2);
        record(&handles);
        self.others
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(labels, handles);
    }

    /// The handles made at start for an answer of `route` to its own method.
    fn own(&self, route: &str, method: &Method, status: u16) -> Option<&Handles> {
        let position = self.names.position(route)?;
        if self.names.routes()[position].method != method {
            return None;
        }
        let class = usize::from(status / 100).checked_sub(2)?;
        self.routes[position].get(class)?.as_ref()
    }
}
