//! A retried submission with the same `Idempotency-Key` creates nothing new
//! and answers as the first did; the key with another request is a 422.

use resourcify_testkit::{TestApp, spawn_app};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

async fn submit_with_key(app: &TestApp, token: &str, key: &str, body: &Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url("/v1/resources"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn resource(url: &str) -> Value {
    json!({"title": "Retried", "url": url, "tags": ["retry"], "kind": "article"})
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_retried_submission_answers_the_same_and_appends_nothing(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let (ada, grace) = (app.register("ada").await, app.register("grace").await);
    let body = resource("https://example.org/retry");

    let (status, first) = submit_with_key(&app, &ada.token, "key-1", &body).await;
    assert_eq!(status, 201, "{first}");
    let head = app.head().await;
    let (status, again) = submit_with_key(&app, &ada.token, "key-1", &body).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["position"], first["position"]);
    assert_eq!(app.head().await, head, "the retry appended nothing");

    // Another user's equal key is another request.
    let (status, theirs) = submit_with_key(
        &app,
        &grace.token,
        "key-1",
        &resource("https://example.org/other"),
    )
    .await;
    assert_eq!(status, 201, "{theirs}");
    assert_ne!(theirs["id"], first["id"]);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_same_key_with_another_request_is_422_and_claims_nothing(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let (status, _) = submit_with_key(
        &app,
        &ada.token,
        "key-2",
        &resource("https://example.org/one"),
    )
    .await;
    assert_eq!(status, 201);
    let head = app.head().await;

    let (status, problem) = submit_with_key(
        &app,
        &ada.token,
        "key-2",
        &resource("https://example.org/two"),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("/idempotency-key-reused")
    );
    assert_eq!(app.head().await, head);

    // The refused request's URL was not claimed: it can still be submitted.
    let fresh = app
        .submit(&ada.token, json!({"url": "https://example.org/two"}))
        .await;
    assert_eq!(fresh.status, 201, "{fresh:#?}");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_retried_sign_up_answers_the_same_and_keeps_the_names(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let body = json!({"username": "ada", "email": "ada@example.org", "password": "long enough"});
    let sign_up = |key: &'static str, body: Value| {
        let request = app
            .http
            .post(app.url("/v1/users"))
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, first) = sign_up("signup-1", body.clone()).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = sign_up("signup-1", body).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["user_id"], first["user_id"]);
    assert_eq!(again["position"], first["position"]);
    assert_eq!(app.head().await, 1);

    // The retry did not give the names up.
    let other = json!({"username": "ada", "email": "other@example.org", "password": "long enough"});
    let (status, problem) = sign_up("signup-2", other).await;
    assert_eq!(status, 409, "{problem}");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_sign_up_key_sent_with_another_body_is_422(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let sign_up = |username: &str| {
        app.request(
            reqwest::Method::POST,
            "/v1/users",
            Some(&json!({"username": username, "email": format!("{username}@example.org"), "password": "long enough"})),
            None,
            Some("signup-key"),
        )
    };
    assert_eq!(sign_up("ada").await.status, 201);
    let head = app.head().await;
    sign_up("grace").await.assert_problem(422);
    assert_eq!(app.head().await, head);
    // Nothing of grace's was claimed.
    assert_eq!(app.register("grace").await.username, "grace");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn every_command_answers_a_retry_as_the_first_and_appends_nothing(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use reqwest::Method;

    let app = spawn_app(db).await;
    let (ada, grace) = (app.register("ada").await, app.register("grace").await);
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    let resource = app.submit(&ada.token, json!({})).await.id();
    let reason = json!({"reason": "Checking the retry path."});
    #[rustfmt::skip]
    let commands: Vec<(Method, String, Option<Value>, &str)> = vec![
        (Method::PATCH, format!("/v1/resources/{resource}"), Some(json!({"title": "Once only"})), &ada.token),
        (Method::PUT, format!("/v1/resources/{resource}/vote"), None, &grace.token),
        (Method::PUT, format!("/v1/resources/{resource}/bookmark"), None, &grace.token),
        (Method::POST, format!("/v1/resources/{resource}/comments"), Some(json!({"body": "Once."})), &grace.token),
        (Method::PUT, "/v1/me/followed-tags/rust".into(), None, &grace.token),
        (Method::PATCH, "/v1/me".into(), Some(json!({"bio": "Once."})), &grace.token),
        (Method::POST, format!("/v1/resources/{resource}/hide"), Some(reason.clone()), &moderator.token),
        (Method::POST, format!("/v1/resources/{resource}/restore"), Some(reason), &moderator.token),
    ];
    for (i, (method, path, body, token)) in commands.iter().enumerate() {
        let key = format!("retry-{i}");
        let send = || app.request(method.clone(), path, body.as_ref(), Some(token), Some(&key));
        let first = send().await;
        assert!(first.status.is_success(), "{method} {path}: {first:#?}");
        let head = app.head().await;
        let again = send().await;
        assert_eq!(again.status, first.status, "{method} {path}");
        assert_eq!(again.body, first.body, "{method} {path}");
        assert_eq!(app.head().await, head, "{method} {path} appended again");
    }

    // A key answers only the request it was first sent with.
    let other = app
        .request(
            Method::PATCH,
            &format!("/v1/resources/{resource}"),
            Some(&json!({"title": "Something else"})),
            Some(&ada.token),
            Some("retry-0"),
        )
        .await;
    other.assert_problem(422);

    // One edit landed, however often it was sent.
    let head = app.wait_until_caught_up().await;
    let view = app.get_at(&format!("/v1/resources/{resource}"), head).await;
    assert_eq!(view.body["title"], "Once only");
    assert_eq!(
        view.body["version"], 4,
        "submitted, edited, hidden, restored"
    );
    assert_eq!(view.body["votes"], 1);
}

/// A node that dies between appending a creation and recording the key's
/// outcome leaves the key without its answer (here: the record is purged).
/// The client's retry with the key answers as the first attempt would
/// have, instead of "already exists", and appends nothing.
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_retry_after_the_outcome_was_lost_answers_as_the_first(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use reqwest::Method;
    use resourcify_eventstore::IdempotencyKeys;

    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let resource = app.submit(&ada.token, json!({})).await;
    let id = resource.id();
    let path = format!("/v1/resources/{id}/comments");
    let body = json!({"body": "Said once"});
    let comment = |token: &str, key: &str| {
        let (token, key) = (token.to_owned(), key.to_owned());
        let body = body.clone();
        let path = path.clone();
        let app = &app;
        async move {
            app.request(Method::POST, &path, Some(&body), Some(&token), Some(&key))
                .await
        }
    };
    let submit_body = json!({
        "url": "https://example.org/said-once",
        "title": "Said once",
        "kind": "article",
        "tags": ["rust"],
    });
    let first_comment = comment(&grace.token, "comment-key").await;
    assert_eq!(first_comment.status, 201, "{first_comment:#?}");
    let (status, first_submit) =
        submit_with_key(&app, &grace.token, "submit-key", &submit_body).await;
    assert_eq!(status, 201, "{first_submit}");
    let head = app.head().await;

    let bucket = app.namespace.bucket(IdempotencyKeys::BUCKET);
    app.store
        .jetstream()
        .get_stream(format!("KV_{bucket}"))
        .await
        .unwrap()
        .purge()
        .await
        .unwrap();

    let retried_comment = comment(&grace.token, "comment-key").await;
    assert_eq!(retried_comment.status, 201, "{retried_comment:#?}");
    assert_eq!(retried_comment.body["id"], first_comment.body["id"]);
    assert_eq!(
        retried_comment.body["position"],
        first_comment.body["position"]
    );
    let (status, retried_submit) =
        submit_with_key(&app, &grace.token, "submit-key", &submit_body).await;
    assert_eq!(status, 201, "{retried_submit}");
    assert_eq!(retried_submit["id"], first_submit["id"]);
    assert_eq!(retried_submit["position"], first_submit["position"]);
    assert_eq!(app.head().await, head, "nothing appended again");
}
