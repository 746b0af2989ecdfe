//! A member's own data: the export holds everything about the caller and
//! nothing about anyone else; the sessions list tells one's logins apart,
//! and ending one of them holds on the very next request.

use chrono::{DateTime, Utc};
use resourcify_testkit::{PASSWORD, TestApp, TestResponse, spawn_app};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Logs `username` in from a client that calls itself `user_agent`.
async fn login_from(app: &TestApp, username: &str, user_agent: &str, position: u64) -> Value {
    let response = app
        .send(
            app.http
                .post(app.url("/v1/sessions"))
                .header("X-Resourcify-Min-Position", position)
                .header("User-Agent", user_agent)
                .json(&json!({"login": username, "password": PASSWORD})),
        )
        .await;
    assert_eq!(response.status, 200, "{response:#?}");
    response.body
}

fn text<'v>(value: &'v Value, field: &str) -> &'v str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {value:#}"))
}

fn time(value: &Value, field: &str) -> DateTime<Utc> {
    text(value, field).parse().unwrap()
}

/// The position a write answered, asserting it succeeded.
fn written(response: &TestResponse) -> u64 {
    assert!(response.status.is_success(), "{response:#?}");
    response.position()
}

/// The session of `id` in a list of sessions.
fn session<'v>(sessions: &'v Value, id: &str) -> Option<&'v Value> {
    sessions.as_array().unwrap().iter().find(|s| s["id"] == id)
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_export_holds_the_callers_data_and_no_one_elses(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;

    let profile =
        json!({"display_name": "Ada L.", "bio": "Engines.", "website": "https://ada.example.org"});
    written(&app.patch("/v1/me", &profile, &ada.token).await);
    let ada_resource = app
        .submit(&ada.token, json!({"title": "Ada's notes"}))
        .await;
    let ada_resource = text(&ada_resource.body, "id").to_owned();
    let grace_resource = app
        .submit(&grace.token, json!({"title": "Grace's compiler"}))
        .await;
    let grace_resource = text(&grace_resource.body, "id").to_owned();

    let on = |id: &str, what: &str| format!("/v1/resources/{id}/{what}");
    let ada_comment = app
        .post(
            &on(&grace_resource, "comments"),
            &json!({"body": "Ada was here."}),
            Some(&ada.token),
        )
        .await;
    written(&ada_comment);
    let grace_comment = app
        .post(
            &on(&ada_resource, "comments"),
            &json!({"body": "Grace was here."}),
            Some(&grace.token),
        )
        .await;
    written(&grace_comment);
    for (token, resource) in [(&ada.token, &grace_resource), (&grace.token, &ada_resource)] {
        written(&app.put(&on(resource, "vote"), token).await);
        written(&app.put(&on(resource, "bookmark"), token).await);
    }
    written(&app.put("/v1/me/followed-tags/rust", &ada.token).await);
    written(&app.put("/v1/me/followed-users/grace", &ada.token).await);
    written(&app.put("/v1/me/followed-tags/go", &grace.token).await);
    written(&app.put("/v1/me/followed-users/ada", &grace.token).await);
    let head = app.head().await;

    let export = app.get_as_at("/v1/me/export", &ada.token, head).await;
    assert_eq!(export.status, 200, "{export:#?}");
    assert_eq!(export.header("cache-control"), Some("private, no-store"));
    let data = &export.body;
    assert_eq!(data["limit_per_list"], 10_000);
    assert_eq!(data["truncated"], json!([]));
    let me = &data["profile"];
    assert_eq!(me["user_id"], ada.user_id.to_string());
    assert_eq!(me["username"], "ada");
    assert_eq!(me["email"], "ada@example.org");
    assert_eq!(me["display_name"], "Ada L.");
    assert_eq!(me["bio"], "Engines.");
    assert_eq!(me["website"], "https://ada.example.org/");
    assert_eq!(me["roles"], json!([]));
    assert!(me["registered_at"].is_string(), "{me:#}");
    assert_eq!(data["follows"]["tags"], json!(["rust"]));
    assert_eq!(data["follows"]["users"][0]["username"], "grace");
    assert_eq!(data["follows"]["users"].as_array().unwrap().len(), 1);

    let resources = data["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{data:#}");
    assert_eq!(resources[0]["id"], ada_resource);
    assert_eq!(resources[0]["title"], "Ada's notes");
    assert_eq!(resources[0]["hidden"], false);
    assert_eq!(resources[0]["votes"], 1);
    let comments = data["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{data:#}");
    assert_eq!(comments[0]["id"], ada_comment.body["id"]);
    assert_eq!(comments[0]["resource_id"], grace_resource);
    assert_eq!(comments[0]["body"], "Ada was here.");
    assert_eq!(data["votes"].as_array().unwrap().len(), 1, "{data:#}");
    assert_eq!(data["votes"][0]["resource_id"], grace_resource);
    assert_eq!(data["bookmarks"].as_array().unwrap().len(), 1, "{data:#}");
    assert_eq!(data["bookmarks"][0]["resource_id"], grace_resource);
    let sessions = data["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{data:#}");
    assert_eq!(sessions[0]["current"], true);

    // Nothing of grace's: not her address, her words, her things or her follows.
    let whole = export.body.to_string();
    for theirs in [
        "grace@example.org",
        "Grace was here.",
        "Grace's compiler",
        text(&grace_comment.body, "id"),
        "\"go\"",
    ] {
        assert!(
            !whole.contains(theirs),
            "the export shows {theirs}: {whole}"
        );
    }
    // Hers is hers alone, and a token is needed at all.
    let hers = app.get_as_at("/v1/me/export", &grace.token, head).await;
    assert_eq!(hers.body["profile"]["email"], "grace@example.org");
    assert_eq!(hers.body["resources"][0]["id"], grace_resource);
    app.get("/v1/me/export").await.assert_problem(401);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_sessions_list_tells_logins_apart_and_shows_their_last_use(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let laptop = login_from(&app, "ada", "Laptop/1.0 (X11)", ada.position).await;
    // A header of control characters and great length keeps one line of 256.
    let long = format!("Phone/2.0\t{}", "x".repeat(400));
    let phone = login_from(&app, "ada", &long, ada.position).await;
    let (laptop_id, phone_id) = (text(&laptop, "session_id"), text(&phone, "session_id"));

    let list = app
        .get_as_at("/v1/me/sessions", text(&laptop, "access_token"), 0)
        .await;
    assert_eq!(list.status, 200, "{list:#?}");
    assert_eq!(list.header("cache-control"), Some("private, no-store"));
    let items = &list.body["items"];
    assert_eq!(items.as_array().unwrap().len(), 3, "{items:#}");
    let on_laptop = session(items, laptop_id).unwrap();
    assert_eq!(on_laptop["user_agent"], "Laptop/1.0 (X11)");
    assert_eq!(on_laptop["current"], true);
    let on_phone = session(items, phone_id).unwrap();
    let agent = text(on_phone, "user_agent");
    assert!(agent.starts_with("Phone/2.0xxx"), "{agent}");
    assert_eq!(agent.chars().count(), 256);
    assert_eq!(on_phone["current"], false);
    assert_eq!(on_phone["last_used_at"], on_phone["started_at"]);
    assert!(on_phone["ended_at"].is_null(), "{on_phone:#}");
    let newest_first: Vec<_> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|s| time(s, "started_at"))
        .collect();
    assert!(newest_first.is_sorted_by(|a, b| a >= b), "{newest_first:?}");

    // A refresh is a use of the session.
    let refreshed = app
        .post(
            "/v1/sessions/refresh",
            &json!({"refresh_token": text(&phone, "refresh_token")}),
            None,
        )
        .await;
    let position = written(&refreshed);
    let list = app
        .get_as_at("/v1/me/sessions", text(&phone, "access_token"), position)
        .await;
    let on_phone = session(&list.body["items"], phone_id).unwrap();
    assert_eq!(on_phone["current"], true);
    assert!(
        time(on_phone, "last_used_at") > time(on_phone, "started_at"),
        "{on_phone:#}"
    );
    assert_eq!(on_phone["user_agent"], agent);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn ending_a_session_refuses_its_tokens_and_leaves_the_others(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let laptop = login_from(&app, "ada", "Laptop/1.0", ada.position).await;
    let phone = login_from(&app, "ada", "Phone/2.0", ada.position).await;
    let laptop_token = text(&laptop, "access_token");
    let phone_id = text(&phone, "session_id");
    let phone_path = format!("/v1/me/sessions/{phone_id}");

    // Another member's session is none of grace's business: as if none.
    app.delete(&phone_path, &grace.token)
        .await
        .assert_problem(404);
    let nowhere = format!("/v1/me/sessions/{}", uuid::Uuid::new_v4());
    app.delete(&nowhere, laptop_token).await.assert_problem(404);
    let still = app
        .get_as_at("/v1/me/sessions", text(&phone, "access_token"), 0)
        .await;
    assert_eq!(still.status, 200, "{still:#?}");

    let ended = app.delete(&phone_path, laptop_token).await;
    assert_eq!(ended.status, 200, "{ended:#?}");
    assert_eq!(ended.body["id"], phone_id);

    // No waiting: the very next request with its access token is refused,
    // and so is its refresh token; the laptop goes on.
    app.get_as_at("/v1/me/sessions", text(&phone, "access_token"), 0)
        .await
        .assert_problem(401);
    let refresh = json!({"refresh_token": text(&phone, "refresh_token")});
    app.post("/v1/sessions/refresh", &refresh, None)
        .await
        .assert_problem(401);
    let list = app.get_as_at("/v1/me/sessions", laptop_token, 0).await;
    assert_eq!(list.status, 200, "{list:#?}");
    assert!(
        session(&list.body["items"], phone_id).is_none(),
        "{list:#?}"
    );
    assert!(session(&list.body["items"], text(&laptop, "session_id")).is_some());

    // Ending it again changes nothing and says so the same way.
    let again = app.delete(&phone_path, laptop_token).await;
    assert_eq!(again.status, 200, "{again:#?}");
    assert_eq!(again.body["id"], phone_id);
    assert!(again.body["position"].as_u64() >= ended.body["position"].as_u64());

    // The export keeps the ended session, with when it ended.
    let export = app.get_as_at("/v1/me/export", laptop_token, 0).await;
    let sessions = &export.body["sessions"];
    let on_phone = session(sessions, phone_id).unwrap();
    assert!(on_phone["ended_at"].is_string(), "{on_phone:#}");
    assert_eq!(on_phone["user_agent"], "Phone/2.0");
    assert_eq!(sessions.as_array().unwrap().len(), 3, "{sessions:#}");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn deleting_the_account_erases_the_user_agents_of_its_sessions(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    login_from(&app, "ada", "Laptop/1.0", ada.position).await;
    let phone = login_from(&app, "ada", "Phone/2.0", ada.position).await;
    let phone_path = format!("/v1/me/sessions/{}", text(&phone, "session_id"));
    written(&app.delete(&phone_path, &ada.token).await);
    login_from(&app, "grace", "Tablet/3.0", grace.position).await;

    written(&app.delete("/v1/me", &ada.token).await);
    app.wait_until_caught_up().await;
    let agents: Vec<(uuid::Uuid, String, bool)> = sqlx::query_as(
        "SELECT user_id, user_agent, ended_at IS NOT NULL FROM sessions WHERE user_agent <> ''",
    )
    .fetch_all(app.reads.pool())
    .await
    .unwrap();
    // Ended or not, none of ada's sessions says where she logged in from.
    assert_eq!(agents, [(grace.user_id, "Tablet/3.0".to_owned(), false)]);
}
