//! The HTTP API: poem-openapi operations that convert DTOs, call one method
//! of the application layer, and map the result. No SQL and no NATS here.

mod dto;
mod problem;
mod resources;
mod security;
mod sessions;
mod users;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;
use resourcify_app::App;

pub use problem::{ApiError, Problem};

/// Every route the server answers: the v1 API, its OpenAPI document at
/// `/openapi.json` and Swagger UI at `/docs`.
pub fn routes(app: App) -> impl Endpoint {
    let api = openapi_service(app.clone());
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .data(app)
        .catch_all_error(problem::from_poem_error)
}

fn openapi_service(
    app: App,
) -> OpenApiService<
    (
        users::UsersApi,
        sessions::SessionsApi,
        resources::ResourcesApi,
    ),
    (),
> {
    OpenApiService::new(
        (
            users::UsersApi { app: app.clone() },
            sessions::SessionsApi { app: app.clone() },
            resources::ResourcesApi { app },
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

/// The OpenAPI document as JSON, for drift checks and tooling.
pub fn openapi_json(app: App) -> String {
    openapi_service(app).spec()
}
