//! The OpenAPI document and Swagger UI are served and complete.

use resourcify_testkit::spawn_app;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_openapi_document_lists_every_route_and_the_bearer_scheme(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let spec = app.get("/openapi.json").await;
    assert_eq!(spec.status, 200);
    let paths = spec.body["paths"].as_object().unwrap();
    let operations: Vec<String> = paths
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    for expected in [
        "POST /v1/users",
        "POST /v1/sessions",
        "POST /v1/resources",
        "GET /v1/resources",
        "GET /v1/resources/{id}",
    ] {
        assert!(
            operations.contains(&expected.to_owned()),
            "{expected} missing from {operations:?}"
        );
    }
    let scheme = &spec.body["components"]["securitySchemes"]["BearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let submit = &paths["/v1/resources"]["post"];
    assert!(submit["security"].to_string().contains("BearerAuth"));
    assert!(submit["responses"]["422"]["content"]["application/problem+json"].is_object());

    let docs = app.get("/docs/").await;
    assert_eq!(docs.status, 200);
    assert!(docs.body.as_str().unwrap().contains("swagger"), "{docs:#?}");
}
