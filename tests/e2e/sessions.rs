//! Sessions: refresh tokens that work once, and logouts that hold on the
//! very next request to any API node.

use reqwest::Method;
use resourcify_testkit::{PASSWORD, TestApp, spawn_app};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// An authenticated request that changes nothing visible: following a tag.
async fn authenticated_status(app: &TestApp, base_url: &str, token: &str) -> u16 {
    app.http
        .put(format!("{base_url}/v1/me/followed-tags/rust"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn refresh(
    app: &TestApp,
    refresh_token: &str,
    key: Option<&str>,
) -> resourcify_testkit::TestResponse {
    app.request(
        Method::POST,
        "/v1/sessions/refresh",
        Some(&json!({"refresh_token": refresh_token})),
        None,
        key,
    )
    .await
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_refresh_token_works_once_and_its_reuse_ends_the_session(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;

    let first = refresh(&app, &ada.refresh_token, None).await;
    assert_eq!(first.status, 200, "{first:#?}");
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let access = first.body["access_token"].as_str().unwrap();
    let next_refresh = first.body["refresh_token"].as_str().unwrap();
    assert_ne!(next_refresh, ada.refresh_token);
    assert_eq!(authenticated_status(&app, &app.base_url, access).await, 200);

    // The spent token again: someone may have copied it. The whole session ends.
    refresh(&app, &ada.refresh_token, None)
        .await
        .assert_problem(401);
    assert_eq!(authenticated_status(&app, &app.base_url, access).await, 401);
    refresh(&app, next_refresh, None).await.assert_problem(401);

    // An access token is no refresh token, and garbage is no token at all.
    refresh(&app, access, None).await.assert_problem(401);
    refresh(&app, "not-a-token", None).await.assert_problem(401);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_logged_out_token_is_refused_on_the_next_request_on_every_node(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let other = app.another_api_node().await;
    let ada = app.register("ada").await;
    assert_eq!(
        authenticated_status(&app, &other.base_url, &ada.token).await,
        200
    );

    let logout = app.delete("/v1/sessions/current", &ada.token).await;
    assert_eq!(logout.status, 200, "{logout:#?}");

    // No waiting: the very next request, on either node.
    assert_eq!(
        authenticated_status(&app, &other.base_url, &ada.token).await,
        401
    );
    assert_eq!(
        authenticated_status(&app, &app.base_url, &ada.token).await,
        401
    );
    refresh(&app, &ada.refresh_token, None)
        .await
        .assert_problem(401);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn logging_out_everywhere_ends_every_session(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let laptop = app.login("ada", PASSWORD, ada.position).await;
    let laptop = laptop.body["access_token"].as_str().unwrap().to_owned();
    let grace = app.register("grace").await;

    let everywhere = app.delete("/v1/sessions", &ada.token).await;
    assert_eq!(everywhere.status, 200, "{everywhere:#?}");
    assert_eq!(
        authenticated_status(&app, &app.base_url, &ada.token).await,
        401
    );
    assert_eq!(
        authenticated_status(&app, &app.base_url, &laptop).await,
        401
    );
    // Another user's session is untouched, and ada can log in again.
    assert_eq!(
        authenticated_status(&app, &app.base_url, &grace.token).await,
        200
    );
    let again = app.login("ada", PASSWORD, 0).await;
    assert_eq!(again.status, 200, "{again:#?}");
    let token = again.body["access_token"].as_str().unwrap();
    assert_eq!(authenticated_status(&app, &app.base_url, token).await, 200);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn changing_the_password_needs_the_current_one_and_ends_every_session(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;

    let wrong = app
        .put_json(
            "/v1/me/password",
            &json!({"current_password": "not the password", "new_password": "a new secret phrase"}),
            &ada.token,
        )
        .await;
    wrong.assert_problem(422);
    assert_eq!(wrong.body["errors"][0]["field"], "current_password");
    let short = app
        .put_json(
            "/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": "short"}),
            &ada.token,
        )
        .await;
    short.assert_problem(422);
    assert_eq!(short.body["errors"][0]["field"], "new_password");

    let changed = app
        .put_json(
            "/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": "a new secret phrase"}),
            &ada.token,
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:#?}");
    let position = changed.position();
    assert_eq!(
        authenticated_status(&app, &app.base_url, &ada.token).await,
        401
    );
    app.login("ada", PASSWORD, position)
        .await
        .assert_problem(401);
    let login = app.login("ada", "a new secret phrase", position).await;
    assert_eq!(login.status, 200, "{login:#?}");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_retried_login_or_refresh_answers_the_same_session(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let login = |key: &'static str| {
        app.request(
            Method::POST,
            &format!("/v1/sessions?min_position={}", ada.position),
            Some(&json!({"login": "ada", "password": PASSWORD})),
            None,
            Some(key),
        )
    };
    let first = login("login-1").await;
    let again = login("login-1").await;
    assert_eq!(first.status, 200, "{first:#?}");
    assert_eq!(again.body["session_id"], first.body["session_id"]);
    assert_eq!(again.body["refresh_token"], first.body["refresh_token"]);
    assert_eq!(again.body["position"], first.body["position"]);

    let token = first.body["refresh_token"].as_str().unwrap();
    let refreshed = refresh(&app, token, Some("refresh-1")).await;
    let retried = refresh(&app, token, Some("refresh-1")).await;
    assert_eq!(refreshed.status, 200, "{refreshed:#?}");
    assert_eq!(retried.status, 200, "a retry is no reuse: {retried:#?}");
    assert_eq!(
        retried.body["refresh_token"],
        refreshed.body["refresh_token"]
    );
    let access = retried.body["access_token"].as_str().unwrap();
    assert_eq!(authenticated_status(&app, &app.base_url, access).await, 200);
}
