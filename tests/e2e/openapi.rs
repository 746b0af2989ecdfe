//! The OpenAPI document is the contract: it lists every route the server
//! answers, each with an operation id, a summary, and its error responses
//! as problem+json; and the server answers every route it lists.

use resourcify_testkit::spawn_app;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Every operation of the v1 API, as the issue tracker names them.
const OPERATIONS: &[&str] = &[
    "POST /v1/users",
    "GET /v1/users/{username}",
    "GET /v1/users/{username}/resources",
    "PUT /v1/users/{username}/roles/{role}",
    "DELETE /v1/users/{username}/roles/{role}",
    "PUT /v1/users/{username}/suspension",
    "DELETE /v1/users/{username}/suspension",
    "POST /v1/sessions",
    "POST /v1/sessions/refresh",
    "DELETE /v1/sessions/current",
    "DELETE /v1/sessions",
    "GET /v1/me",
    "PATCH /v1/me",
    "DELETE /v1/me",
    "PUT /v1/me/password",
    "PUT /v1/me/followed-tags/{tag}",
    "DELETE /v1/me/followed-tags/{tag}",
    "PUT /v1/me/followed-users/{username}",
    "DELETE /v1/me/followed-users/{username}",
    "PUT /v1/me/hidden-tags/{tag}",
    "DELETE /v1/me/hidden-tags/{tag}",
    "GET /v1/me/front-page",
    "GET /v1/me/resources",
    "GET /v1/me/news",
    "GET /v1/me/bookmarks",
    "GET /v1/me/feed",
    "GET /v1/me/export",
    "GET /v1/me/sessions",
    "GET /v1/me/notifications",
    "GET /v1/me/notifications/unread-count",
    "POST /v1/me/notifications/read",
    "POST /v1/me/notifications/stream-ticket",
    "GET /v1/me/notifications/stream",
    "DELETE /v1/me/sessions/{id}",
    "POST /v1/resources",
    "GET /v1/resources",
    "GET /v1/resources/{id}",
    "PATCH /v1/resources/{id}",
    "DELETE /v1/resources/{id}",
    "PUT /v1/resources/{id}/vote",
    "DELETE /v1/resources/{id}/vote",
    "PUT /v1/resources/{id}/bookmark",
    "DELETE /v1/resources/{id}/bookmark",
    "GET /v1/resources/{id}/comments",
    "POST /v1/resources/{id}/comments",
    "GET /v1/resources/{id}/history",
    "GET /v1/comments/{id}",
    "PATCH /v1/comments/{id}",
    "DELETE /v1/comments/{id}",
    "PUT /v1/comments/{id}/vote",
    "DELETE /v1/comments/{id}/vote",
    "POST /v1/comments/{id}/remove",
    "POST /v1/resources/{id}/hide",
    "POST /v1/resources/{id}/restore",
    "GET /v1/moderation-log",
    "POST /v1/resources/{id}/flags",
    "DELETE /v1/resources/{id}/flags",
    "POST /v1/comments/{id}/flags",
    "DELETE /v1/comments/{id}/flags",
    "POST /v1/resources/{id}/flags/dismiss",
    "POST /v1/comments/{id}/flags/dismiss",
    "GET /v1/moderation/queue",
    "GET /v1/tags",
    "GET /v1/search",
    "GET /v1/feed",
    "GET /v1/feed.atom",
    "GET /v1/feed.rss",
    "GET /v1/tags/{tag}/feed.atom",
    "GET /v1/tags/{tag}/feed.rss",
    "GET /v1/domains/{domain}",
    "GET /v1/domains/{domain}/feed.atom",
    "GET /v1/users/{username}/feed.atom",
    "POST /v1/news-sources",
    "GET /v1/news-sources",
    "GET /v1/news-sources/{id}",
    "PATCH /v1/news-sources/{id}",
    "DELETE /v1/news-sources/{id}",
    "POST /v1/news-sources/{id}/refresh",
    "GET /v1/news",
    "POST /v1/news/{id}/share",
    "GET /v1/streams/resources",
    "GET /healthz",
    "GET /readyz",
];

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (method.to_uppercase(), path.clone(), op.clone()))
        })
        .collect()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_openapi_document_is_the_contract_of_every_route(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let spec = app.get("/openapi.json").await;
    assert_eq!(spec.status, 200);
    let documented = operations(&spec.body);
    let names: Vec<String> = documented
        .iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    let mut missing: Vec<_> = OPERATIONS
        .iter()
        .filter(|o| !names.contains(&o.to_string()))
        .collect();
    missing.sort();
    assert!(missing.is_empty(), "not documented: {missing:?}");
    let undocumented: Vec<_> = names
        .iter()
        .filter(|n| !OPERATIONS.contains(&n.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "not in the contract list: {undocumented:?}"
    );

    // What the router answers for a route it does not have.
    let unknown = app.get("/v1/no-such-route").await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.body["detail"].as_str()),
        (404, Some("not found"))
    );

    for (method, path, op) in &documented {
        let name = format!("{method} {path}");
        assert!(op["operationId"].is_string(), "{name} has no operationId");
        assert!(op["summary"].is_string(), "{name} has no summary");
        let responses = op["responses"].as_object().unwrap();
        if path.starts_with("/v1/") {
            for status in ["400", "429", "503"] {
                let problem = &responses[status]["content"]["application/problem+json"];
                assert!(problem.is_object(), "{name} does not document {status}");
            }
        }
        let secured = op["security"].to_string().contains("BearerAuth");
        if secured {
            assert!(
                responses.contains_key("401"),
                "{name} is secured but has no 401"
            );
        }

        // The server answers the route: no "no such route" from the router.
        let concrete = path
            .replace("{id}", &uuid::Uuid::now_v7().to_string())
            .replace("{username}", "nobody")
            .replace("{role}", "moderator")
            .replace("{tag}", "rust")
            .replace("{domain}", "example.org");
        if path.starts_with("/v1/streams/") {
            // A stream never ends: its answer's head is enough.
            let open = app.http.get(app.url(&concrete)).send().await.unwrap();
            assert_eq!(open.status(), 200, "{name}");
            continue;
        }
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = app.request(method, &concrete, None, None, None).await;
        assert_ne!(answer.status, 405, "{name}: {answer:#?}");
        assert!(
            !(answer.status == 404 && answer.body["detail"] == "not found"),
            "{name} is documented but not routed: {answer:#?}"
        );
    }

    let scheme = &spec.body["components"]["securitySchemes"]["BearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let stream = &spec.body["paths"]["/v1/streams/resources"]["get"]["responses"]["200"];
    assert!(
        stream["content"]["text/event-stream"]["schema"].is_object(),
        "{stream:#}"
    );
    let submit = &spec.body["paths"]["/v1/resources"]["post"];
    assert!(submit["responses"]["422"]["content"]["application/problem+json"].is_object());
    assert!(
        submit["requestBody"]["content"]["application/json; charset=utf-8"]["schema"].is_object()
            || submit["requestBody"]["content"]["application/json"]["schema"].is_object()
    );

    // Every request body, and the shapes most answers share, come with an example.
    let schemas = &spec.body["components"]["schemas"];
    let example_of = |reference: &Value| {
        let name = reference["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .unwrap_or_default();
        schemas[name]["example"].clone()
    };
    for (method, path, op) in &documented {
        let Some(content) = op["requestBody"]["content"].as_object() else {
            continue;
        };
        for (media, body) in content {
            assert!(
                !example_of(&body["schema"]).is_null(),
                "{method} {path} {media} has no example"
            );
        }
    }
    for shape in [
        "Resource",
        "ResourceList",
        "CommandResult",
        "Problem",
        "SessionTokens",
    ] {
        assert!(
            schemas[shape]["example"].is_object(),
            "{shape} has no example"
        );
    }

    let docs = app.get("/docs/").await;
    assert_eq!(docs.status, 200);
    assert!(docs.body.as_str().unwrap().contains("swagger"), "{docs:#?}");
}

/// The checked-in copy of the document, for reviewers and client
/// generators: `just openapi` writes it again after a change to the API.
const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_served_document_is_the_checked_in_one_and_says_what_the_server_does(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let served = app.get("/openapi.json").await.body;
    if std::env::var_os("RESOURCIFY_UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&served).unwrap() + "\n";
        std::fs::write(SNAPSHOT, text).unwrap();
    }
    let checked_in: Value = serde_json::from_str(
        &std::fs::read_to_string(SNAPSHOT).expect("docs/openapi.json is checked in"),
    )
    .unwrap();
    assert!(
        served == checked_in,
        "the API's document changed: run `just openapi` and review the diff of docs/openapi.json"
    );

    let paths = &served["paths"];
    // The stream's tags: optional and repeatable.
    let tag = paths["/v1/streams/resources"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "tag")
        .unwrap();
    assert_eq!(
        (&tag["required"], &tag["explode"]),
        (&json!(false), &json!(true))
    );
    // Feeds say what they are.
    for (path, media) in [
        ("/v1/feed.atom", "application/atom+xml"),
        ("/v1/feed.rss", "application/rss+xml"),
    ] {
        let content = paths[path]["get"]["responses"]["200"]["content"]
            .as_object()
            .unwrap();
        assert!(
            content.keys().all(|k| k.starts_with(media)),
            "{path}: {content:?}"
        );
    }
    // Request bodies are closed, their texts carry the text rule, and every
    // operation that takes one documents 413, 415 and 422.
    let schemas = &served["components"]["schemas"];
    for (method, path, op) in operations(&served) {
        let Some(content) = op["requestBody"]["content"].as_object() else {
            continue;
        };
        for status in ["413", "415", "422"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} lacks {status}"
            );
        }
        for body in content.values() {
            let name = body["schema"]["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            let schema = &schemas[name];
            assert_eq!(schema["additionalProperties"], false, "{name}");
            for (field, property) in schema["properties"].as_object().unwrap() {
                let text = if property["type"] == "array" {
                    &property["items"]
                } else {
                    property
                };
                if text["type"] == "string"
                    && text.get("format").is_none()
                    && text.get("enum").is_none()
                {
                    assert!(text["pattern"].is_string(), "{name}.{field} has no pattern");
                }
            }
        }
    }
    // A creation links to what is done with it, at its position.
    let links = &paths["/v1/resources"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        links["getResource"]["parameters"]["id"],
        "$response.body#/id"
    );
    assert_eq!(
        links["getResource"]["parameters"]["min_position"],
        "$response.body#/position"
    );
    assert_eq!(links["upvote"]["operationId"], "upvote");
    // Enums where the server knows only a few values.
    assert!(schemas["Resource"]["properties"]["kind"]["$ref"].is_string());
    assert!(schemas["Account"]["properties"]["roles"]["items"]["$ref"].is_string());
    app.shut_down().await;
}

/// The operations whose document names a shared parameter (by `$ref`).
fn taking(spec: &Value, parameter: &str) -> Vec<(String, String)> {
    let reference = json!({ "$ref": format!("#/components/parameters/{parameter}") });
    operations(spec)
        .into_iter()
        .filter(|(_, _, op)| {
            op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.contains(&reference))
        })
        .map(|(method, path, _)| (method, path))
        .collect()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn every_operation_takes_the_shared_parameters_its_document_names(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let admin = app.make_admin(&app.register("root").await).await;
    let spec = app.get("/openapi.json").await.body;
    // A path with its parameters filled in, and the required query (search's `q`).
    let concrete = |path: &str| {
        let path = path
            .replace("{id}", &uuid::Uuid::now_v7().to_string())
            .replace("{username}", "root")
            .replace("{role}", "moderator")
            .replace("{tag}", "rust")
            .replace("{domain}", "example.org");
        if path == "/v1/search" {
            format!("{path}?q=rust&")
        } else {
            format!("{path}?")
        }
    };
    let login = json!({"login": "root", "password": resourcify_testkit::PASSWORD});
    let flag = json!({"reason": "spam"});
    let beyond = app.head().await + 1_000;

    let readers = taking(&spec, "MinPosition");
    assert_eq!(readers.len(), 35, "{readers:?}");
    assert_eq!(taking(&spec, "MinPositionHeader"), readers);
    for (method, path) in &readers {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // A flag's body is a reason; the log-in's, a login.
        let body = (method == reqwest::Method::POST).then_some(if path.ends_with("/flags") {
            &flag
        } else {
            &login
        });
        for (query, status) in [
            ("min_position=soon", 400),
            (&*format!("min_position={beyond}"), 400),
        ] {
            let url = format!("{}{query}", concrete(path));
            let answer = app
                .request(method.clone(), &url, body, Some(&admin.token), None)
                .await;
            answer.assert_problem(status);
            assert!(
                answer.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("min_position")
                    || answer.body["type"]
                        .as_str()
                        .unwrap()
                        .ends_with("position-beyond-head"),
                "{method} {path}: {answer:#?}"
            );
        }
    }

    let lists = taking(&spec, "Limit");
    assert_eq!(lists.len(), 18, "{lists:?}");
    assert_eq!(taking(&spec, "Cursor"), lists);
    for (method, path) in &lists {
        for limit in ["0", "101", "ten"] {
            let url = format!("{}limit={limit}", concrete(path));
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            app.request(method, &url, None, Some(&admin.token), None)
                .await
                .assert_problem(400);
        }
    }

    // Every write: a key the document refuses is refused before anything
    // runs. (Sent with the operation's example body, which passes the
    // document, so that the key is what is refused.)
    let writers = taking(&spec, "IdempotencyKey");
    assert_eq!(writers.len(), 46, "{writers:?}");
    let head = app.head().await;
    for (method, path) in &writers {
        let operation = &spec["paths"][path][method.to_lowercase()];
        let example = operation["requestBody"]["content"]
            .as_object()
            .and_then(|content| content.values().next())
            .and_then(|media| media["schema"]["$ref"].as_str())
            .map(|r| {
                spec["components"]["schemas"][r.rsplit('/').next().unwrap()]["example"].clone()
            });
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = app
            .request(
                method.clone(),
                &concrete(path),
                example.as_ref(),
                Some(&admin.token),
                Some("has spaces"),
            )
            .await;
        answer.assert_problem(400);
        let detail = answer.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("Idempotency-Key"),
            "{method} {path}: {detail}"
        );
    }
    assert_eq!(app.head().await, head, "no refused write appended anything");
    app.shut_down().await;
}
