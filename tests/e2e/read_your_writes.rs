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
