//! The HTTP API: poem-openapi operations that convert DTOs, call one method
//! of the application layer, and map the result. No SQL and no NATS here.

// `ApiError` is the problem+json response itself, built once per failed
// request; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod cached;
mod comments;
mod discovery;
mod dto;
mod header_text;
mod me;
mod middleware;
mod news;
mod ops;
mod problem;
mod rendered;
mod resources;
mod responses;
mod security;
mod sessions;
mod streams;
mod telemetry;
mod users;

use std::sync::Arc;

use poem::{EndpointExt, Route};
use poem_openapi::OpenApiService;
use resourcify_app::App;

pub use middleware::rate_limit::{Budget, RateLimitSettings, RateLimits};
pub use middleware::request_id::current as current_request_id;
pub use problem::{ApiError, Problem};
pub use telemetry::prometheus;

/// How the HTTP layer protects itself.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub rate_limits: RateLimitSettings,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Open event streams this node serves at most, and per client address.
    pub max_streams: usize,
    pub max_streams_per_client: usize,
    /// Leaves out request ids, metrics and rate limits. Only for measuring
    /// what they cost (`just bench`); never in production.
    pub bare: bool,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            rate_limits: RateLimitSettings::default(),
            max_body_bytes: 64 * 1024,
            max_streams: 10_000,
            max_streams_per_client: 8,
            bare: false,
        }
    }
}

type Apis = (
    users::UsersApi,
    sessions::SessionsApi,
    me::MeApi,
    resources::ResourcesApi,
    comments::CommentsApi,
    discovery::DiscoveryApi,
    news::NewsApi,
    streams::StreamsApi,
    ops::OpsApi,
);

/// Every route the server answers: the v1 API, operations endpoints, the
/// OpenAPI document at `/openapi.json` and Swagger UI at `/docs`.
pub fn routes(
    app: App,
    settings: &ApiSettings,
    limits: Arc<RateLimits>,
) -> poem::endpoint::BoxEndpoint<'static> {
    let api = openapi_service(app.clone(), settings);
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let max_body = settings.max_body_bytes;
    let routes = Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .around(move |next, request| middleware::body_limit::enforce(next, request, max_body))
        .catch_all_error(problem::from_poem_error);
    if settings.bare {
        return routes.data(app).data(limits).boxed();
    }
    middleware::Guarded {
        inner: routes,
        limits: limits.clone(),
        metrics: middleware::http_metrics::HttpMetrics::default(),
        ids: middleware::request_id::RequestIds::new(),
    }
    .data(app)
    .data(limits)
    .boxed()
}

fn openapi_service(app: App, settings: &ApiSettings) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            users::UsersApi { app: app.clone() },
            sessions::SessionsApi { app: app.clone() },
            me::MeApi { app: app.clone() },
            resources::ResourcesApi { app: app.clone() },
            comments::CommentsApi { app: app.clone() },
            discovery::DiscoveryApi { app: app.clone() },
            news::NewsApi { app: app.clone() },
            streams::StreamsApi {
                app: app.clone(),
                limits: Arc::new(streams::StreamLimits::new(
                    settings.max_streams,
                    settings.max_streams_per_client,
                )),
            },
            ops::OpsApi {
                app,
                metrics: prometheus().clone(),
            },
        ),
        "Resourcify",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Tech resources, votes and news. Writes are events on NATS JetStream; \
         reads come from projected views. Every write answers with its `position`; \
         send it back as `X-Resourcify-Min-Position` to read your own writes.",
    )
    .server("/")
}
