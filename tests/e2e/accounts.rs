//! One's own account: profile, follows, deletion; and the operator's
//! `resourcify admin grant`.

use resourcify_domain::Role;
use resourcify_domain::user::User;
use resourcify_testkit::{PASSWORD, spawn_app};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_profile_changes_only_where_asked(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;

    let first = app
        .patch(
            "/v1/me",
            &json!({"display_name": "Ada Lovelace", "website": "https://example.org/ada"}),
            &ada.token,
        )
        .await;
    assert_eq!(first.status, 200, "{first:#?}");
    let second = app
        .patch("/v1/me", &json!({"bio": "Notes on engines."}), &ada.token)
        .await;
    assert_eq!(second.status, 200, "{second:#?}");
    // The same change again changes nothing and appends nothing.
    let head = app.head().await;
    let same = app
        .patch("/v1/me", &json!({"bio": "Notes on engines."}), &ada.token)
        .await;
    assert_eq!(same.body["position"], second.body["position"]);
    assert_eq!(app.head().await, head);

    app.wait_until_caught_up().await;
    let profile: (String, String, String) = sqlx::query_as(
        "SELECT display_name, bio, website FROM user_profiles WHERE username = 'ada'",
    )
    .fetch_one(app.reads.pool())
    .await
    .unwrap();
    assert_eq!(
        profile,
        (
            "Ada Lovelace".into(),
            "Notes on engines.".into(),
            "https://example.org/ada".into()
        )
    );

    // Refused by the document's limits, and by the domain's rules.
    for (patch, field) in [
        (json!({"display_name": "x".repeat(51)}), "display_name"),
        (json!({"website": "javascript:alert(1)"}), "website"),
    ] {
        let bad = app.patch("/v1/me", &patch, &ada.token).await;
        bad.assert_problem(422);
        let fields: Vec<_> = bad.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field]);
        assert_eq!(bad.body["errors"][0]["pointer"], format!("/{field}"));
    }
    app.patch("/v1/me", &json!({}), &ada.token)
        .await
        .assert_problem(422);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn follows_are_idempotent_and_checked(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    app.register("grace").await;

    let tag = app.put("/v1/me/followed-tags/Rust", &ada.token).await;
    assert_eq!(tag.status, 200, "{tag:#?}");
    let again = app.put("/v1/me/followed-tags/rust", &ada.token).await;
    assert_eq!(
        again.body["position"], tag.body["position"],
        "no second event"
    );
    app.put("/v1/me/followed-tags/not%20a%20tag", &ada.token)
        .await
        .assert_problem(422);

    assert_eq!(
        app.put("/v1/me/followed-users/grace", &ada.token)
            .await
            .status,
        200
    );
    app.put("/v1/me/followed-users/nobody", &ada.token)
        .await
        .assert_problem(404);
    app.put("/v1/me/followed-users/ada", &ada.token)
        .await
        .assert_problem(422);
    assert_eq!(
        app.delete("/v1/me/followed-tags/rust", &ada.token)
            .await
            .status,
        200
    );

    app.wait_until_caught_up().await;
    let pool = app.reads.pool();
    let tags: i64 = sqlx::query_scalar("SELECT count(*) FROM followed_tags")
        .fetch_one(pool)
        .await
        .unwrap();
    let users: Vec<String> = sqlx::query_scalar(
        "SELECT p.username FROM followed_users f JOIN user_profiles p ON p.user_id = f.followee_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!((tags, users), (0, vec!["grace".to_owned()]));
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_deleted_account_leaves_every_view_but_its_resources_stay(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    app.put("/v1/me/followed-users/ada", &grace.token).await;
    let submitted = app.submit(&ada.token, json!({})).await;
    let id = submitted.id();

    let deleted = app.delete("/v1/me", &ada.token).await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    let position = deleted.position();

    // The session is gone, and so is the login.
    app.put("/v1/me/followed-tags/rust", &ada.token)
        .await
        .assert_problem(401);
    app.login("ada", PASSWORD, position)
        .await
        .assert_problem(401);
    // The resource stays, with its author as a tombstone.
    let resource = app.get_at(&format!("/v1/resources/{id}"), position).await;
    assert_eq!(resource.status, 200, "{resource:#?}");
    assert_eq!(resource.body["author"]["username"], serde_json::Value::Null);
    // No view holds the account's personal data.
    app.wait_until_caught_up().await;
    let pool = app.reads.pool();
    for table in ["user_credentials", "user_access", "user_profiles"] {
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE user_id = $1"
        )))
        .bind(ada.user_id)
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(rows, 0, "{table}");
    }
    let followers: i64 = sqlx::query_scalar("SELECT count(*) FROM followed_users")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(followers, 0);

    // The e-mail address and the username are free again (erasure takes
    // the name too); a newcomer under the name is not the old author.
    let reuse = app
        .post(
            "/v1/users",
            &json!({"username": "ada", "email": "ada@example.org", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(reuse.status, 201, "{reuse:#?}");
    let position = reuse.position();
    let resource = app.get_at(&format!("/v1/resources/{id}"), position).await;
    assert_eq!(resource.body["author"]["username"], serde_json::Value::Null);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_operator_makes_the_first_admin_from_the_command_line(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db.clone()).await;
    let ada = app.register("ada").await;
    app.register("grace").await;
    app.put("/v1/users/grace/roles/moderator", &ada.token)
        .await
        .assert_problem(403);

    app.operator(&["admin", "grant", "ada"]).await.unwrap();

    let granted = app.put("/v1/users/grace/roles/moderator", &ada.token).await;
    assert_eq!(granted.status, 200, "{granted:#?}");
    // Both grants are events like any other.
    let store = &app.store;
    let roles = |id| async move { store.load::<User>(id).await.unwrap().state.roles };
    assert!(roles(ada.user_id).await.contains(&Role::Admin));
    let grace_id = granted.body["id"].as_str().unwrap().parse().unwrap();
    assert!(roles(grace_id).await.contains(&Role::Moderator));
}
