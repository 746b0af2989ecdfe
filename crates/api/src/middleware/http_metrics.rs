//! Request counts and latency per route template and status class.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};
use poem_openapi::OperationId;

pub(crate) async fn record<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.call(request).await?.into_response();
    let elapsed = started.elapsed().as_secs_f64();
    // The operation (or else the route template), never the raw path, so
    // the label set stays small whatever clients send.
    let route = match (
        response.data::<OperationId>(),
        response.data::<PathPattern>(),
    ) {
        (Some(operation), _) => operation.0.to_owned(),
        (None, Some(pattern)) => pattern.0.to_string(),
        (None, None) => "unmatched".to_owned(),
    };
    let status = format!("{}xx", response.status().as_u16() / 100);
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("resourcify_http_requests_total", &labels).increment(1);
    metrics::histogram!("resourcify_http_request_duration_seconds", &labels).record(elapsed);
    Ok(response)
}
