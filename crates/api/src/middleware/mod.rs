//! What every request passes through before the routes: a request id, the
//! rate limits, and the HTTP metrics, in one layer (each extra layer of
//! futures costs measurably on a warm read); and a body size limit.

pub(crate) mod body_limit;
pub(crate) mod http_metrics;
pub mod rate_limit;
pub(crate) mod request_id;

use std::sync::Arc;
use std::time::Instant;

use poem::{Endpoint, IntoResponse, Request, Response};

use rate_limit::{Admission, RateLimits};

/// The protective layer around the routes.
pub(crate) struct Guarded<E> {
    pub(crate) inner: E,
    pub(crate) limits: Arc<RateLimits>,
    pub(crate) metrics: http_metrics::HttpMetrics,
    pub(crate) ids: request_id::RequestIds,
}

impl<E: Endpoint> Endpoint for Guarded<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let method = request.method().clone();
        let id = self.ids.pick(&request);
        let mut response = match self.limits.admit(&request) {
            Admission::Refused(refusal) => refusal,
            Admission::Exempt => request_id::scope(id.clone(), self.inner.call(request))
                .await?
                .into_response(),
            Admission::Admitted(verdict, budget, slot) => {
                let mut response = request_id::scope(id.clone(), self.inner.call(request))
                    .await?
                    .into_response();
                drop(slot);
                // Room for the three headers added here, in one growth.
                response.headers_mut().reserve(3);
                rate_limit::add_headers(&mut response, verdict, budget);
                response
            }
        };
        self.metrics.record(&method, started, &response);
        response
            .headers_mut()
            .insert(request_id::HEADER.clone(), id);
        Ok(response)
    }
}
