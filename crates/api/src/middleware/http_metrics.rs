//! Request counts and latency per operation and status class.
//!
//! The metric handles for each (operation, method, status class) are looked
//! up once and kept: resolving labelled metrics through the registry on
//! every request costs more than the warm read it measures.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use metrics::{Counter, Histogram};
use poem::http::Method;
use poem::{PathPattern, Response};
use poem_openapi::OperationId;

/// What the `route` label names: the operation, or the route template for
/// routes outside the OpenAPI service (docs, unmatched paths).
#[derive(Clone)]
enum Route {
    Operation(&'static str),
    Pattern(Arc<str>),
    Unmatched,
}

// An operation is known by the address of its name, a `&'static str`
// that poem-openapi hands out for every call: hashing a pointer instead of
// the text. Two copies of one name would only share their metrics, which
// the registry finds by the labels.
impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Operation(a), Self::Operation(b)) => std::ptr::eq(*a, *b),
            (Self::Pattern(a), Self::Pattern(b)) => a == b,
            (Self::Unmatched, Self::Unmatched) => true,
            _ => false,
        }
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Self::Operation(name) => name.as_ptr().hash(state),
            Self::Pattern(pattern) => pattern.hash(state),
            Self::Unmatched => {}
        }
    }
}

impl Route {
    fn label(&self) -> &str {
        match self {
            Self::Operation(name) => name,
            Self::Pattern(pattern) => pattern,
            Self::Unmatched => "unmatched",
        }
    }
}

type Labels = (Route, &'static str, &'static str);

/// The counter and histogram of one label set.
struct Handles {
    requests: Counter,
    duration: Histogram,
}

/// Resolved metric handles, shared by every request of a node.
#[derive(Default)]
pub(crate) struct HttpMetrics {
    handles: RwLock<HashMap<Labels, Handles, foldhash::fast::RandomState>>,
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
    /// Runs `use_them` with the handles of `labels`, registered on first use.
    fn with_handles(&self, labels: Labels, use_them: impl Fn(&Handles)) {
        if let Some(found) = self
            .handles
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&labels)
        {
            return use_them(found);
        }
        let (route, method, status) = &labels;
        let set = [
            ("route", route.label().to_owned()),
            ("method", (*method).to_owned()),
            ("status", (*status).to_owned()),
        ];
        let handles = Handles {
            requests: metrics::counter!("resourcify_http_requests_total", &set),
            duration: metrics::histogram!("resourcify_http_request_duration_seconds", &set),
        };
        use_them(&handles);
        self.handles
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(labels, handles);
    }
}

impl HttpMetrics {
    /// Counts one answered request and how long it took.
    pub(crate) fn record(&self, method: &Method, started: Instant, response: &Response) {
        let elapsed = started.elapsed().as_secs_f64();
        // The operation (or else the route template), never the raw path, so
        // the label set stays small whatever clients send.
        let route = if let Some(operation) = response.data::<OperationId>() {
            Route::Operation(operation.0)
        } else if let Some(pattern) = response.data::<PathPattern>() {
            Route::Pattern(pattern.0.clone())
        } else {
            Route::Unmatched
        };
        let status = status_label(response.status().as_u16());
        self.with_handles((route, method_label(method), status), |handles| {
            handles.requests.increment(1);
            handles.duration.record(elapsed);
        });
    }
}
