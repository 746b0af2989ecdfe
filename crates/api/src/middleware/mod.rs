//! The layers every request passes through, outermost first: request id,
//! HTTP metrics, rate limits and body size, then the routes.

pub(crate) mod body_limit;
pub(crate) mod http_metrics;
pub mod rate_limit;
pub(crate) mod request_id;
