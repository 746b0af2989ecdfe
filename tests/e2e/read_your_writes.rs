//! Reads wait, boundedly, for the position a client asks for.

use std::time::Duration;

use resourcify::{NodeSettings, Roles};
use resourcify_testkit::spawn_app_configured;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_position_the_views_never_reach_is_a_503_with_retry_after(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // No projector: the views stay at position 0 whatever is written.
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.roles = Roles::API_ONLY;
        s.app.read_wait = Duration::from_secs(1);
    })
    .await;
    let user = app.register("ada").await;

    let started = std::time::Instant::now();
    let response = app.get_at("/v1/resources", user.position).await;
    response.assert_problem(503);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(
        response.body["detail"]
            .as_str()
            .unwrap()
            .contains("position")
    );
    // The wait is bounded by the configured read wait.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    // Without a position the same read answers at once, from the (empty) view.
    let now = app.get("/v1/resources").await;
    assert_eq!(now.status, 200);
    assert_eq!(now.body["items"], serde_json::json!([]));
}

/// Two API nodes: a change made through one drops what the other has
/// cached, on the projector's notice, long before the cache's TTL (60 s).
#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn every_api_node_drops_its_cached_view_when_another_node_changes_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |_: &mut NodeSettings| {}).await;
    let other = app.another_node_with(Roles::API_ONLY).await;
    let other_url = format!("http://{}", other.addr.expect("the other node listens"));
    let ada = app.register("ada").await;
    let submitted = app
        .submit(&ada.token, serde_json::json!({"title": "Before"}))
        .await;
    let id = submitted.id();
    let at = submitted.position();
    let path = format!("{other_url}/v1/resources/{id}");
    let http = reqwest::Client::new();
    let read = |position: Option<u64>| {
        let mut request = http.get(&path);
        if let Some(position) = position {
            request = request.header("X-Resourcify-Min-Position", position);
        }
        async move {
            let answer = request.send().await.unwrap();
            let cache = answer.headers()["x-cache"].to_str().unwrap().to_owned();
            let body: serde_json::Value = answer.json().await.unwrap();
            (body["title"].as_str().unwrap().to_owned(), cache)
        }
    };
    assert_eq!(read(Some(at)).await.0, "Before");
    assert_eq!(read(None).await, ("Before".to_owned(), "hit".to_owned()));

    let edited = app
        .patch(
            &format!("/v1/resources/{id}"),
            &serde_json::json!({"title": "After"}),
            &ada.token,
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:#?}");
    // The other node's cached view goes once the notice reaches it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (title, _) = read(None).await;
        if title == "After" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other node kept its stale view"
        );
    }
}
