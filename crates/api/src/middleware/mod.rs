//! What every request passes through before the routes: a request id, the
//! rate limits, and the HTTP metrics, in one layer (each extra layer of
//! futures costs measurably on a warm read); and a body size limit.

pub(crate) mod body_limit;
pub(crate) mod http_metrics;
pub mod rate_limit;
pub(crate) mod request_id;

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use rate_limit::{Admission, RateLimits};

use crate::contract::Contract;

/// The protective layer around the routes.
pub(crate) struct Guarded<E> {
    pub(crate) inner: E,
    pub(crate) limits: Arc<RateLimits>,
    pub(crate) metrics: http_metrics::HttpMetrics,
    pub(crate) ids: request_id::RequestIds,
    /// Names the route of a refusal made before routing.
    pub(crate) contract: Arc<Contract>,
}

impl<E: Endpoint> Endpoint for Guarded<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let method = request.method().clone();
        let id = self.ids.pick(&request);
        let (verdict, slot) = match self.limits.admit(&request) {
            Admission::Refused(mut refusal) => {
                // Refused before routing: named from the document, which
                // only refusals pay for.
                self.contract.name(&mut refusal, &request);
                return Ok(self.finish(refusal, &method, started, id));
            }
            Admission::Exempt => (None, None),
            Admission::Admitted(verdict, budget, slot) => (Some((verdict, budget)), slot),
        };
        // The routes' future is kilobytes large and every move copies all of
        // it: it stays where it is made, and the request id's scope gets a
        // pointer to it.
        let routes = std::pin::pin!(self.inner.call(request));
        let mut scoped = std::pin::pin!(request_id::scope(id, routes));
        let mut response = scoped.as_mut().await?.into_response();
        let id = request_id::take(scoped);
        drop(slot);
        // A handler's refusal by a budget of its own (comments, follows,
        // failed logins) keeps its headers: they name the budget that refused.
        let refused_by_own_budget = response.status() == StatusCode::TOO_MANY_REQUESTS;
        if let Some((verdict, budget)) = verdict.filter(|_| !refused_by_own_budget) {
            // Answers not made with room for the four headers added here
            // grow once, not four times.
            response.headers_mut().reserve(4);
            rate_limit::add_headers(&mut response, verdict, budget);
        }
        Ok(self.finish(response, &method, started, id))
    }
}

impl<E> Guarded<E> {
    /// Counts the answer and tells the client its request id.
    fn finish(
        &self,
        mut response: Response,
        method: &Method,
        started: Instant,
        id: HeaderValue,
    ) -> Response {
        self.metrics.record(method, started, &response);
        let headers = response.headers_mut();
        headers.insert(request_id::HEADER.clone(), id);
        // No answer is ever to be sniffed into something else (a feed into
        // HTML, say).
        headers.insert(
            poem::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}
