//! The whole path: register → log in → submit → read back, over HTTP.

use resourcify_testkit::{TestApp, spawn_app};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_submitted_resource_is_served_back_by_id_and_in_lists(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;

    let registered = app.register("ada").await;
    assert_eq!(registered.username, "ada");
    assert!(registered.position >= 1);

    let login = app
        .post(
            &format!("/v1/sessions?min_position={}", registered.position),
            &json!({"login": "ADA@example.org", "password": "correct horse battery"}),
            None,
        )
        .await;
    assert_eq!(login.status, 200, "{login:#?}");
    assert_eq!(login.body["token_type"], "Bearer");
    assert!(login.body["expires_in"].as_u64().unwrap() > 0);
    let token = login.body["access_token"].as_str().unwrap();

    let submitted = app
        .submit(
            token,
            json!({
                "title": "The Rust Book",
                "url": "https://doc.rust-lang.org/book/",
                "tags": ["Rust", "books"],
                "kind": "book",
            }),
        )
        .await;
    assert_eq!(submitted.status, 201, "{submitted:#?}");
    let id = submitted.id();
    let position = submitted.position();
    assert!(position > registered.position);
    assert_eq!(
        submitted.header("location"),
        Some(format!("/v1/resources/{id}").as_str())
    );
    assert_eq!(
        submitted.header("x-resourcify-position"),
        Some(position.to_string().as_str())
    );

    let resource = app.get_at(&format!("/v1/resources/{id}"), position).await;
    assert_eq!(resource.status, 200, "{resource:#?}");
    let body = &resource.body;
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["title"], "The Rust Book");
    assert_eq!(body["url"], "https://doc.rust-lang.org/book/");
    assert_eq!(body["tags"], json!(["rust", "books"]));
    assert_eq!(body["kind"], "book");
    assert_eq!(body["author"]["username"], "ada");
    assert_eq!(body["author"]["user_id"], registered.user_id.to_string());
    assert_eq!(body["version"], 1);
    assert_eq!(body["created_at"], body["updated_at"]);

    for list in [
        "/v1/resources",
        "/v1/resources?tag=rust",
        "/v1/resources?tag=books",
    ] {
        let page = app.get_at(list, position).await;
        assert_eq!(page.status, 200, "{page:#?}");
        assert_eq!(page.body["items"][0]["id"], id.as_str(), "{list}");
        assert_eq!(page.body["next_cursor"], serde_json::Value::Null);
    }
    let other_tag = app.get_at("/v1/resources?tag=python", position).await;
    assert_eq!(other_tag.body["items"], json!([]));
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn lists_are_newest_first_and_cursors_walk_every_item_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let author = app.register("grace").await;
    let mut ids = Vec::new();
    let mut position = 0;
    for i in 0..7 {
        let tags = if i % 2 == 0 {
            json!(["even", "all"])
        } else {
            json!(["all"])
        };
        let submitted = app
            .submit(
                &author.token,
                json!({"title": format!("Resource {i}"), "tags": tags}),
            )
            .await;
        assert_eq!(submitted.status, 201);
        ids.push(submitted.id());
        position = submitted.position();
    }

    // The same walk by following the RFC 8288 `Link` header.
    let mut linked = Vec::new();
    let mut next = Some("/v1/resources?tag=all&limit=3".to_owned());
    while let Some(path) = next.take() {
        let page = app.get_at(&path, position).await;
        for item in page.body["items"].as_array().unwrap() {
            linked.push(item["id"].as_str().unwrap().to_owned());
        }
        next = page.header("link").map(|link| {
            assert!(link.ends_with("; rel=\"next\""), "{link}");
            link.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_owned()
        });
    }
    assert_eq!(linked, ids.iter().rev().cloned().collect::<Vec<_>>());

    let newest_first: Vec<_> = ids.iter().rev().cloned().collect();
    assert_eq!(
        walk(&app, "/v1/resources?limit=3", position).await,
        newest_first
    );
    let even: Vec<_> = ids.iter().step_by(2).rev().cloned().collect();
    assert_eq!(
        walk(&app, "/v1/resources?tag=even&limit=2", position).await,
        even
    );
    assert_eq!(
        walk(&app, "/v1/resources?tag=all&limit=100", position).await,
        newest_first
    );
}

/// Follows `next_cursor` from `first` (which has a query string) to the end.
async fn walk(app: &TestApp, first: &str, position: u64) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = first.to_owned();
    loop {
        let page = app.get_at(&path, position).await;
        assert_eq!(page.status, 200, "{page:#?}");
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => return seen,
        }
    }
}
