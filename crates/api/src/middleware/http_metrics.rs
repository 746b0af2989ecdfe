//! Request counts and latency per route template and status class.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};

pub(crate) async fn record<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.call(request).await?.into_response();
    let elapsed = started.elapsed().as_secs_f64();
    // The route template (`/v1/resources/:id`), never the raw path, so the
    // label set stays small whatever clients send.
    let route = response
        .data::<PathPattern>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.0.to_string());
    let status = format!("{}xx", response.status().as_u16() / 100);
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("resourcify_http_requests_total", &labels).increment(1);
    metrics::histogram!("resourcify_http_request_duration_seconds", &labels).record(elapsed);
    Ok(response)
}
