//! The HTTP API: poem-openapi operations that convert DTOs, call one method
//! of the application layer, and map the result. No SQL and no NATS here.

// `ApiError` is the problem+json response itself, built once per failed
// request; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod cached;
mod client_address;
mod comments;
mod contract;
mod discovery;
mod dto;
mod extract;
mod flags;
mod header_text;
mod hidden_tags;
mod me;
mod middleware;
mod my_data;
mod news;
mod notifications;
mod ops;
mod problem;
mod rendered;
mod resources;
mod responses;
mod route_names;
mod security;
mod sessions;
mod sites;
mod streams;
mod telemetry;
mod users;

use std::sync::Arc;
use std::time::Duration;

use poem::{EndpointExt, Route};
use poem_openapi::{OpenApiService, OperationId};
use resourcify_app::App;

pub use client_address::{TrustedProxies, TrustedProxy};
pub use middleware::rate_limit::{Budget, RateLimitSettings, RateLimits};
pub use middleware::request_id::current as current_request_id;
pub use problem::{ApiError, Problem};
pub use route_names::{
    BESIDE_THE_DOCUMENT as ROUTES_BESIDE_THE_DOCUMENT, UNMATCHED as UNMATCHED_ROUTE,
};
pub use telemetry::{METRIC_FAMILIES, describe_metrics, prometheus};

/// How the HTTP layer protects itself.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub rate_limits: RateLimitSettings,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Open event streams this node serves at most, and per client address.
    pub max_streams: usize,
    pub max_streams_per_client: usize,
    /// A connection that neither sends nor receives a byte for this long is
    /// closed: a request whose headers or body never end (slowloris) holds
    /// a socket no longer. The node keeps it above its read wait, during
    /// which a waiting read sends nothing; event streams send a keep-alive
    /// every few seconds.
    pub idle_connection_timeout: Duration,
    /// Origins (`https://app.example`) whose browser pages may call the API;
    /// empty: none.
    pub cors_origins: Vec<String>,
    /// Where clients reach the API (`https://api.example.org`, no path):
    /// the absolute links of the feeds. Never taken from a request's
    /// `Host`, which anyone can set, and whose answers are cached for all.
    pub public_url: String,
    /// Leaves out request ids, metrics, rate limits and the contract's
    /// checks. Only for measuring what they cost (`just bench`); never in
    /// production.
    pub bare: bool,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            rate_limits: RateLimitSettings::default(),
            max_body_bytes: 64 * 1024,
            max_streams: 10_000,
            max_streams_per_client: 8,
            idle_connection_timeout: Duration::from_secs(60),
            cors_origins: Vec::new(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            bare: false,
        }
    }
}

type Apis = (
    users::UsersApi,
    sessions::SessionsApi,
    me::MeApi,
    hidden_tags::HiddenTagsApi,
    notifications::NotificationsApi,
    my_data::MyDataApi,
    resources::ResourcesApi,
    comments::CommentsApi,
    discovery::DiscoveryApi,
    flags::FlagsApi,
    news::NewsApi,
    sites::SitesApi,
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
    let api = openapi_service(&app, settings);
    let contract = Arc::new(contract::Contract::new(&api.spec()));
    let document = contract.document.clone();
    let spec = poem::endpoint::make_sync(move |_| {
        let mut response = poem::Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(document.clone());
        response.set_data(OperationId(route_names::OPENAPI.id));
        response
    });
    // Named as poem-openapi names its operations, for the metrics.
    let docs = api
        .swagger_ui()
        .with(docs_headers())
        .after(|answer| async move {
            let name = OperationId(route_names::DOCS.id);
            answer
                .map(|mut response| {
                    response.set_data(name);
                    response
                })
                .map_err(|mut error| {
                    error.set_data(name);
                    error
                })
        });
    let max_body = settings.max_body_bytes;
    let bare = settings.bare;
    let checked = contract.clone();
    let routes = Route::new()
        .at(route_names::OPENAPI.path, spec)
        .nest(route_names::DOCS.path, docs)
        .nest("/", api)
        // One layer for both (each layer of futures costs on every request,
        // ADR 10); the bench's bare node measures what the checks cost too.
        .around(move |next, request| {
            let contract = (!bare).then(|| checked.clone());
            contract::check(next, request, max_body, contract)
        })
        .catch_all_error(problem::from_poem_error);
    if settings.bare {
        return routes.data(app.sessions).data(limits).boxed();
    }
    let guarded = middleware::Guarded {
        inner: routes,
        limits: limits.clone(),
        metrics: middleware::http_metrics::HttpMetrics::new(route_names::table()),
        ids: middleware::request_id::RequestIds::new(),
        contract,
    }
    .data(app.sessions)
    .data(limits);
    match cors(&settings.cors_origins) {
        // Outermost, so that every answer (a 429 too) is readable from the
        // allowed origins; its refusals become problem+json like the rest.
        Some(cors) => guarded
            .with(cors)
            .catch_all_error(problem::from_poem_error)
            .boxed(),
        None => guarded.boxed(),
    }
}

/// The headers a browser client on another origin needs to read.
const EXPOSED_HEADERS: [&str; 10] = [
    "Location",
    "ETag",
    "Link",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "X-Resourcify-Position",
    "X-Request-Id",
    "X-Cache",
    "WWW-Authenticate",
];

/// Cross-origin access for the configured origins; none without them.
fn cors(origins: &[String]) -> Option<poem::middleware::Cors> {
    if origins.is_empty() {
        return None;
    }
    Some(
        poem::middleware::Cors::new()
            .allow_origins(origins.iter().map(String::as_str))
            .allow_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allow_headers([
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-None-Match",
                "Last-Event-ID",
                "X-Request-Id",
                "X-Resourcify-Min-Position",
            ])
            .expose_headers(EXPOSED_HEADERS)
            .allow_credentials(true)
            .max_age(600),
    )
}

/// Swagger UI runs its own inline script and style, calls this server, and
/// is never framed.
fn docs_headers() -> poem::middleware::SetHeader {
    poem::middleware::SetHeader::new()
        .overriding(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; font-src 'self' data:; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        )
        .overriding("X-Frame-Options", "DENY")
}

fn openapi_service(app: &App, settings: &ApiSettings) -> OpenApiService<Apis, ()> {
    let stream_limits = Arc::new(streams::StreamLimits::new(
        settings.max_streams,
        settings.max_streams_per_client,
    ));
    OpenApiService::new(
        (
            users::UsersApi {
                accounts: app.accounts.clone(),
                moderation: app.moderation.clone(),
                resources: app.resources.clone(),
            },
            sessions::SessionsApi {
                sessions: app.sessions.clone(),
            },
            me::MeApi {
                accounts: app.accounts.clone(),
                follows: app.follows.clone(),
                resources: app.resources.clone(),
            },
            hidden_tags::HiddenTagsApi {
                tag_filters: app.tag_filters.clone(),
                resources: app.resources.clone(),
                news: app.news.clone(),
            },
            notifications::NotificationsApi {
                notifications: app.notifications.clone(),
                limits: stream_limits.clone(),
            },
            my_data::MyDataApi {
                my_data: app.my_data.clone(),
                sessions: app.sessions.clone(),
            },
            resources::ResourcesApi {
                moderation: app.moderation.clone(),
                resources: app.resources.clone(),
            },
            comments::CommentsApi {
                comments: app.comments.clone(),
                moderation: app.moderation.clone(),
            },
            discovery::DiscoveryApi {
                moderation: app.moderation.clone(),
                resources: app.resources.clone(),
            },
            flags::FlagsApi {
                flags: app.flags.clone(),
            },
            news::NewsApi {
                news: app.news.clone(),
                sites: app.sites.clone(),
                public_url: settings.public_url.trim_end_matches('/').into(),
            },
            sites::SitesApi {
                sites: app.sites.clone(),
            },
            streams::StreamsApi {
                accounts: app.accounts.clone(),
                changes: app.changes.clone(),
                limits: stream_limits,
            },
            ops::OpsApi {
                status: app.status.clone(),
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
