//! Bad input is a clear 4xx problem+json, never a 500, and never a write.

use resourcify_testkit::spawn_app;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// What is sent, where, with which token, and the status and refused field expected.
type Case<'a> = (
    &'a str,
    &'a str,
    Value,
    Option<&'a str>,
    u16,
    Option<&'a str>,
);

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn every_bad_input_is_a_problem_and_the_stream_is_unchanged(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let user = app.register("ada").await;
    let token = Some(user.token.as_str());
    let head = app.head().await;

    let resource = |overrides: Value| {
        let mut body = json!({
            "title": "Fine title", "url": "https://example.org", "description": "",
            "tags": ["rust"], "kind": "article",
        });
        body.as_object_mut()
            .unwrap()
            .extend(overrides.as_object().unwrap().clone());
        body
    };
    let long_title = "x".repeat(201);
    let long_description = "x".repeat(5_001);
    let cases: Vec<Case> = vec![
        (
            "empty title",
            "/v1/resources",
            resource(json!({"title": ""})),
            token,
            422,
            Some("title"),
        ),
        (
            "short title",
            "/v1/resources",
            resource(json!({"title": "ab"})),
            token,
            422,
            Some("title"),
        ),
        (
            "long title",
            "/v1/resources",
            resource(json!({"title": long_title})),
            token,
            422,
            Some("title"),
        ),
        (
            "ftp url",
            "/v1/resources",
            resource(json!({"url": "ftp://example.org/x"})),
            token,
            422,
            Some("url"),
        ),
        (
            "javascript url",
            "/v1/resources",
            resource(json!({"url": "javascript:alert(1)"})),
            token,
            422,
            Some("url"),
        ),
        (
            "relative url",
            "/v1/resources",
            resource(json!({"url": "/just/a/path"})),
            token,
            422,
            Some("url"),
        ),
        (
            "six tags",
            "/v1/resources",
            resource(json!({"tags": ["a", "b", "c", "d", "e", "f"]})),
            token,
            422,
            Some("tags"),
        ),
        (
            "no tags",
            "/v1/resources",
            resource(json!({"tags": []})),
            token,
            422,
            Some("tags"),
        ),
        (
            "bad tag",
            "/v1/resources",
            resource(json!({"tags": ["two words"]})),
            token,
            422,
            Some("tags/0"),
        ),
        (
            "long description",
            "/v1/resources",
            resource(json!({"description": long_description})),
            token,
            422,
            Some("description"),
        ),
        (
            "unknown kind",
            "/v1/resources",
            resource(json!({"kind": "blog"})),
            token,
            422,
            Some("kind"),
        ),
        (
            "missing url",
            "/v1/resources",
            json!({"title": "Fine title", "tags": ["a"], "kind": "tool"}),
            token,
            422,
            Some("url"),
        ),
        (
            "tags not a list",
            "/v1/resources",
            resource(json!({"tags": "rust"})),
            token,
            422,
            Some("tags"),
        ),
        (
            "no token",
            "/v1/resources",
            resource(json!({})),
            None,
            401,
            None,
        ),
        (
            "forged token",
            "/v1/resources",
            resource(json!({})),
            Some("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"),
            401,
            None,
        ),
        (
            "short username",
            "/v1/users",
            json!({"username": "ab", "email": "ab@example.org", "password": "long enough"}),
            None,
            422,
            Some("username"),
        ),
        (
            "bad username",
            "/v1/users",
            json!({"username": "a b!", "email": "ab@example.org", "password": "long enough"}),
            None,
            422,
            Some("username"),
        ),
        (
            "bad email",
            "/v1/users",
            json!({"username": "newbie", "email": "not-an-email", "password": "long enough"}),
            None,
            422,
            Some("email"),
        ),
        (
            "short password",
            "/v1/users",
            json!({"username": "newbie", "email": "n@example.org", "password": "short"}),
            None,
            422,
            Some("password"),
        ),
        (
            "missing password",
            "/v1/users",
            json!({"username": "newbie", "email": "n@example.org"}),
            None,
            422,
            Some("password"),
        ),
        (
            "wrong password",
            "/v1/sessions",
            json!({"login": "ada", "password": "not the password"}),
            None,
            401,
            None,
        ),
        (
            "unknown login",
            "/v1/sessions",
            json!({"login": "nobody", "password": "whatever it is"}),
            None,
            401,
            None,
        ),
    ];
    for (what, path, body, token, status, field) in cases {
        let response = app.post(path, &body, token).await;
        response.assert_problem(status);
        if let Some(field) = field {
            let fields: Vec<_> = response.body["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: no field list in {response:#?}"))
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(&field), "{what}: {fields:?}");
        }
    }

    let raw_cases = [
        ("/v1/resources", "application/json", "{not json", 400),
        ("/v1/resources", "application/json", "", 400),
        ("/v1/resources", "text/plain", "title=x", 415),
        ("/v1/users", "application/json", "[1, 2, 3]", 422),
    ];
    for (path, content_type, body, status) in raw_cases {
        app.post_raw(path, content_type, body, token)
            .await
            .assert_problem(status);
    }

    let reads = [
        ("/v1/resources/not-a-uuid", 400),
        ("/v1/resources/0190a000-0000-7000-8000-000000000000", 404),
        ("/v1/resources?limit=0", 400),
        ("/v1/resources?limit=101", 400),
        ("/v1/resources?limit=ten", 400),
        ("/v1/resources?cursor=bm90LWEtY3Vyc29y", 422),
        ("/v1/resources?tag=two%20words", 422),
        ("/v1/resources?min_position=-1", 400),
        ("/v1/no-such-route", 404),
    ];
    for (path, status) in reads {
        app.get(path).await.assert_problem(status);
    }

    assert_eq!(app.head().await, head, "no bad request appended anything");
}
