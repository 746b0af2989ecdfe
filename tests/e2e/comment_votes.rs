//! Votes on comments: one per member per comment, up or down, never on
//! one's own, idempotent with or without an `Idempotency-Key`; and threads
//! in `top` order (each level by the Wilson score lower bound of its
//! upvotes) and `new` order, replies always under their parent.

use reqwest::Method;
use resourcify_testkit::{Registered, TestApp, TestResponse, spawn_app};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// A new resource of `author`'s; its id.
async fn resource_of(app: &TestApp, author: &Registered) -> String {
    let submitted = app.submit(&author.token, json!({})).await;
    assert_eq!(submitted.status, 201, "{submitted:#?}");
    submitted.id()
}

/// `author`'s comment on `resource`, replying to `parent` if given; its id.
async fn comment(
    app: &TestApp,
    author: &Registered,
    resource: &str,
    parent: Option<&str>,
) -> String {
    let mut body = json!({"body": "Worth a read."});
    if let Some(parent) = parent {
        body["parent_id"] = json!(parent);
    }
    let posted = app
        .request(
            Method::POST,
            &format!("/v1/resources/{resource}/comments"),
            Some(&body),
            Some(&author.token),
            None,
        )
        .await;
    assert_eq!(posted.status, 201, "{posted:#?}");
    posted.id()
}

async fn vote(app: &TestApp, voter: &Registered, comment: &str, direction: &str) -> TestResponse {
    app.put_json(
        &format!("/v1/comments/{comment}/vote"),
        &json!({"direction": direction}),
        &voter.token,
    )
    .await
}

fn position(response: &TestResponse) -> u64 {
    assert_eq!(response.status, 200, "{response:#?}");
    response.position()
}

/// The thread of `resource` as read at `at`, in `query`'s order: each
/// comment's id.
async fn thread(app: &TestApp, resource: &str, query: &str, at: u64) -> Vec<Value> {
    let read = app
        .get_at(&format!("/v1/resources/{resource}/comments{query}"), at)
        .await;
    assert_eq!(read.status, 200, "{read:#?}");
    read.body["items"].as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().map(|c| c["id"].as_str().unwrap()).collect()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_comment_vote_counts_once_turns_and_withdraws_idempotently(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let resource = resource_of(&app, &ada).await;
    let bobs = comment(&app, &bob, &resource, None).await;

    let first = position(&vote(&app, &ada, &bobs, "up").await);
    let again = position(&vote(&app, &ada, &bobs, "up").await);
    assert_eq!(again, first, "a second upvote appends nothing");
    let shown = &thread(&app, &resource, "", first).await[0];
    assert_eq!(
        (&shown["votes"], &shown["upvotes"], &shown["downvotes"]),
        (&json!(1), &json!(1), &json!(0))
    );

    // Turned the other way: still one vote.
    let turned = position(&vote(&app, &ada, &bobs, "down").await);
    assert!(turned > first);
    let shown = &thread(&app, &resource, "", turned).await[0];
    assert_eq!(
        (&shown["votes"], &shown["upvotes"], &shown["downvotes"]),
        (&json!(-1), &json!(0), &json!(1))
    );

    let path = format!("/v1/comments/{bobs}/vote");
    let withdrawn = position(&app.delete(&path, &ada.token).await);
    assert_eq!(position(&app.delete(&path, &ada.token).await), withdrawn);
    let shown = &thread(&app, &resource, "", withdrawn).await[0];
    assert_eq!(
        (&shown["upvotes"], &shown["downvotes"]),
        (&json!(0), &json!(0))
    );

    // The same key answers as the first request did; with another request
    // it is refused.
    let keyed = |direction: &'static str| {
        app.request(
            Method::PUT,
            &path,
            Some(&json!({"direction": direction})),
            Some(&ada.token),
            Some("ada-votes-once"),
        )
    };
    let once = position(&keyed("up").await);
    assert!(once > withdrawn);
    assert_eq!(position(&keyed("up").await), once);
    keyed("down").await.assert_problem(422);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_comment_vote_is_refused_on_ones_own_and_on_a_deleted_one(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let resource = resource_of(&app, &ada).await;
    let bobs = comment(&app, &bob, &resource, None).await;

    let own = vote(&app, &bob, &bobs, "up").await;
    own.assert_problem(403);
    assert!(
        own.body["type"].as_str().unwrap().ends_with("/forbidden"),
        "{own:#?}"
    );
    vote(&app, &bob, &bobs, "sideways")
        .await
        .assert_problem(422);
    let unknown = uuid::Uuid::now_v7();
    vote(&app, &ada, &unknown.to_string(), "up")
        .await
        .assert_problem(404);
    app.put(&format!("/v1/comments/{bobs}/vote"), &ada.token)
        .await
        .assert_problem(415);

    let deleted = app
        .delete(&format!("/v1/comments/{bobs}"), &bob.token)
        .await;
    assert_eq!(deleted.status, 200, "{deleted:#?}");
    vote(&app, &ada, &bobs, "up").await.assert_problem(404);
    app.delete(&format!("/v1/comments/{bobs}/vote"), &ada.token)
        .await
        .assert_problem(404);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn top_ranks_each_level_by_wilson_score_and_new_by_age(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let mut voters = Vec::new();
    for i in 0..5 {
        voters.push(app.register(&format!("voter{i}")).await);
    }
    let resource = resource_of(&app, &ada).await;
    // Posted in this order: `b`, its replies `b1` then `b2`, `a`, `c`.
    let b = comment(&app, &bob, &resource, None).await;
    let b1 = comment(&app, &bob, &resource, Some(&b)).await;
    let b2 = comment(&app, &bob, &resource, Some(&b)).await;
    let a = comment(&app, &bob, &resource, None).await;
    let c = comment(&app, &bob, &resource, None).await;
    // `a`: 2 of 2 up (Wilson 0.34); `b`: 3 of 5 up (0.23), more upvotes
    // but less sure; `c` none (0). `b2` one up, `b1` none.
    let mut last = 0;
    for (voter, comment, direction) in [
        (0, &a, "up"),
        (1, &a, "up"),
        (0, &b, "up"),
        (1, &b, "up"),
        (2, &b, "up"),
        (3, &b, "down"),
        (4, &b, "down"),
        (0, &b2, "up"),
    ] {
        last = position(&vote(&app, &voters[voter], comment, direction).await);
    }

    let posted = thread(&app, &resource, "", last).await;
    assert_eq!(ids(&posted), [&b, &b1, &b2, &a, &c]);
    let top = thread(&app, &resource, "?sort=top", last).await;
    assert_eq!(ids(&top), [&a, &b, &b2, &b1, &c], "{top:#?}");
    let depths: Vec<&Value> = top.iter().map(|c| &c["depth"]).collect();
    assert_eq!(depths, [0, 0, 1, 1, 0]);
    let b_shown = &top[1];
    assert_eq!(
        (
            &b_shown["votes"],
            &b_shown["upvotes"],
            &b_shown["downvotes"]
        ),
        (&json!(1), &json!(3), &json!(2))
    );
    let new = thread(&app, &resource, "?sort=new", last).await;
    assert_eq!(ids(&new), [&c, &a, &b, &b2, &b1]);

    // Pages of `top` follow one another; a cursor belongs to its order.
    let mut paged = Vec::new();
    let mut query = "?sort=top&limit=2".to_owned();
    loop {
        let page = app
            .get_at(&format!("/v1/resources/{resource}/comments{query}"), last)
            .await;
        assert_eq!(page.status, 200, "{page:#?}");
        paged.extend(page.body["items"].as_array().unwrap().clone());
        let Some(cursor) = page.body["next_cursor"].as_str() else {
            break;
        };
        let other_order = format!("/v1/resources/{resource}/comments?sort=new&cursor={cursor}");
        app.get(&other_order).await.assert_problem(422);
        query = format!("?sort=top&limit=2&cursor={cursor}");
    }
    assert_eq!(ids(&paged), ids(&top));

    // A vote changes the cached order at once.
    let more = position(&vote(&app, &voters[1], &c, "up").await);
    let more = position(&vote(&app, &voters[2], &c, "up").await).max(more);
    let last_vote = position(&vote(&app, &voters[3], &c, "up").await).max(more);
    let top = thread(&app, &resource, "?sort=top", last_vote).await;
    assert_eq!(ids(&top), [&c, &a, &b, &b2, &b1], "{top:#?}");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn the_views_rank_by_the_domains_wilson_score(pool: sqlx::PgPool) {
    for (up, down) in [(0, 0), (1, 0), (2, 0), (3, 2), (0, 4), (7, 3), (120, 80)] {
        let in_sql: f64 = sqlx::query_scalar("SELECT comment_wilson($1, $2)")
            .bind(up as i32)
            .bind(down as i32)
            .fetch_one(&pool)
            .await
            .unwrap();
        let reference = resourcify_domain::comment_vote::wilson_lower_bound(up, down);
        assert!(
            (in_sql - reference).abs() < 1e-12,
            "{up}/{down}: {in_sql} ≠ {reference}"
        );
    }
}
