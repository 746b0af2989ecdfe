//! Public lists: filters, the three orders, keyset pages that see every item
//! exactly once while writes go on, conditional requests, the front page,
//! search and tags.

use std::collections::HashSet;

use resourcify_testkit::{Registered, TestApp, TestResponse, spawn_app};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn ids(page: &TestResponse) -> Vec<String> {
    page.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page:#?}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn submit(app: &TestApp, author: &Registered, fields: Value) -> (String, u64) {
    let response = app.submit(&author.token, fields).await;
    assert_eq!(response.status, 201, "{response:#?}");
    (response.id(), response.position())
}

/// Follows `next_cursor` to the end, returning every id in order and how
/// many pages it took; `between` runs after each page.
async fn walk(app: &TestApp, first: &str, mut between: impl AsyncFnMut()) -> (Vec<String>, usize) {
    let (mut seen, mut pages) = (Vec::new(), 0);
    let mut path = first.to_owned();
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {page:#?}");
        seen.extend(ids(&page));
        pages += 1;
        between().await;
        let Some(cursor) = page.body["next_cursor"].as_str() else {
            assert!(page.header("link").is_none());
            break;
        };
        let link = page.header("link").expect("a Link to the next page");
        let next = link
            .strip_prefix('<')
            .and_then(|l| l.split_once(">; rel=\"next\""))
            .map(|(p, _)| p.to_owned())
            .unwrap_or_else(|| panic!("not an RFC 8288 next link: {link}"));
        assert!(next.contains(&format!("cursor={cursor}")), "{next}");
        path = next;
    }
    (seen, pages)
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn every_filter_and_order_pages_through_every_item_once_while_writes_go_on(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let voters: Vec<Registered> =
        futures::future::join_all((0..3).map(|i| app.register_as(format!("voter{i}")))).await;
    let mut expected = Vec::new();
    for i in 0..12 {
        let (author, kind, tags) = match i % 3 {
            0 => (&ada, "book", json!(["rust"])),
            1 => (&grace, "video", json!(["rust", "async"])),
            _ => (&ada, "article", json!(["go"])),
        };
        let (id, _) = submit(&app, author, json!({"kind": kind, "tags": tags})).await;
        expected.push((id, author.username.clone(), kind, tags));
    }
    // Votes: resource i gets i % 4 upvotes.
    for (i, (id, ..)) in expected.iter().enumerate() {
        for voter in voters.iter().take(i % 4) {
            assert_eq!(
                app.put(&format!("/v1/resources/{id}/vote"), &voter.token)
                    .await
                    .status,
                200
            );
        }
    }
    let head = app.wait_until_caught_up().await;
    let newest_first: Vec<String> = expected.iter().rev().map(|(id, ..)| id.clone()).collect();

    // Newest first, three to a page, while more is submitted between pages:
    // what was there at the start is seen exactly once, in order.
    let (seen, pages) = walk(
        &app,
        &format!("/v1/resources?limit=3&min_position={head}"),
        async || {
            submit(&app, &grace, json!({"tags": ["late"]})).await;
        },
    )
    .await;
    assert_eq!(pages, 4, "12 items, 3 a page: no page after the last");
    assert_eq!(seen, newest_first);
    let head = app.wait_until_caught_up().await;

    // Filters: one tag, one kind, one author.
    let filtered = |query: &str| format!("/v1/resources?{query}&limit=100&min_position={head}");
    let rust: Vec<_> = newest_first
        .iter()
        .filter(|id| {
            expected.iter().any(|(e, _, _, tags)| {
                e == *id && tags.as_array().unwrap().contains(&json!("rust"))
            })
        })
        .cloned()
        .collect();
    assert_eq!(ids(&app.get(&filtered("tag=rust")).await), rust);
    let videos = ids(&app.get(&filtered("kind=video")).await);
    assert_eq!(videos.len(), 4);
    // grace also submitted the late ones, during the walk.
    let by_grace = ids(&app.get(&filtered("author=grace")).await);
    assert_eq!(by_grace.len(), 4 + 4);
    assert_eq!(by_grace[4..], videos[..], "and the videos before them");
    let profile_list = ids(&app
        .get(&format!(
            "/v1/users/grace/resources?limit=100&min_position={head}"
        ))
        .await);
    assert_eq!(profile_list, by_grace);

    // Top: by votes, then newest; the walk sees each once.
    let (top, _) = walk(
        &app,
        &format!("/v1/resources?sort=top&limit=5&min_position={head}"),
        async || {},
    )
    .await;
    let votes_of = |id: &String| expected.iter().position(|(e, ..)| e == id).unwrap() % 4;
    let top_votes: Vec<usize> = top
        .iter()
        .filter(|id| expected.iter().any(|(e, ..)| e == *id))
        .map(votes_of)
        .collect();
    assert!(top_votes.windows(2).all(|w| w[0] >= w[1]), "{top_votes:?}");
    assert_eq!(
        top.iter().collect::<HashSet<_>>().len(),
        top.len(),
        "no duplicates"
    );

    // Hot: the same items; a voted newer one beats an unvoted older one.
    let (hot, _) = walk(
        &app,
        &format!("/v1/resources?sort=hot&limit=5&min_position={head}"),
        async || {},
    )
    .await;
    assert_eq!(
        hot.iter().collect::<HashSet<_>>(),
        top.iter().collect::<HashSet<_>>()
    );
    let rank = |id: &String| hot.iter().position(|h| h == id).unwrap();
    assert!(
        rank(&expected[11].0) < rank(&expected[0].0),
        "newer and voted ranks higher"
    );
    let feed = app
        .get(&format!("/v1/feed?limit=100&min_position={head}"))
        .await;
    assert_eq!(
        ids(&feed)[..hot.len()],
        hot[..],
        "the front page is the hot list"
    );
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn lists_refuse_what_they_cannot_answer(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    submit(&app, &ada, json!({})).await;
    submit(&app, &ada, json!({})).await;
    let head = app.wait_until_caught_up().await;

    // Outside what the contract states (an enum, a range): malformed.
    for bad in [
        "/v1/resources?sort=random",
        "/v1/resources?limit=0",
        "/v1/resources?limit=101",
        "/v1/search?q=",
    ] {
        app.get(bad).await.assert_problem(400);
    }
    for bad in [
        "/v1/resources?cursor=garbage",
        "/v1/resources?tag=rust&kind=book",
        "/v1/resources?tag=Not%20A%20Tag",
        "/v1/search?q=%20",
    ] {
        let response = app.get(bad).await;
        response.assert_problem(422);
        assert!(response.body["errors"].is_array(), "{bad}: {response:#?}");
    }
    // Not even well-formed: `kind` is an enum in the contract.
    app.get("/v1/resources?kind=blog").await.assert_problem(400);
    app.get("/v1/resources?author=nobody")
        .await
        .assert_problem(404);

    // A cursor from one order is refused by another.
    let newest = app
        .get(&format!("/v1/resources?limit=1&min_position={head}"))
        .await;
    let cursor = newest.body["next_cursor"].as_str().unwrap();
    let other = app
        .get(&format!("/v1/resources?sort=top&cursor={cursor}"))
        .await;
    other.assert_problem(422);
    assert_eq!(other.body["errors"][0]["field"], "cursor");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_cached_page_answers_304_and_changes_when_the_list_does(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let (_, at) = submit(&app, &ada, json!({})).await;

    let first = app.get_at("/v1/resources", at).await;
    assert_eq!(first.header("x-cache"), Some("miss"));
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=0, must-revalidate")
    );
    let etag = first.header("etag").unwrap().to_owned();
    let again = app.get("/v1/resources").await;
    assert_eq!(again.header("x-cache"), Some("hit"));
    let unchanged = app
        .send(
            app.http
                .get(app.url("/v1/resources"))
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(unchanged.status, 304);

    // A new submission reaches the list: the cached page is dropped.
    let (id, at) = submit(&app, &ada, json!({})).await;
    let changed = app.get_at("/v1/resources", at).await;
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(ids(&changed)[0], id);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn search_ranks_title_matches_first_and_skips_hidden_resources(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let moderator = app.register("moderator").await;
    app.grant_as_operator("moderator", "moderator").await;
    let (in_title, _) = submit(
        &app,
        &ada,
        json!({"title": "Fearless concurrency in practice", "description": "Threads."}),
    )
    .await;
    let (in_text, _) = submit(
        &app,
        &ada,
        json!({"title": "A book about systems", "description": "One chapter is on concurrency."}),
    )
    .await;
    let (hidden, _) = submit(
        &app,
        &ada,
        json!({"title": "Concurrency spam", "description": "concurrency concurrency"}),
    )
    .await;
    submit(
        &app,
        &ada,
        json!({"title": "Unrelated", "description": "Nothing here."}),
    )
    .await;
    let hide = app
        .request(
            reqwest::Method::POST,
            &format!("/v1/resources/{hidden}/hide"),
            Some(&json!({"reason": "Spam."})),
            Some(&moderator.token),
            None,
        )
        .await;
    let at = hide.position();

    let found = app.get_at("/v1/search?q=concurrency", at).await;
    assert_eq!(found.status, 200, "{found:#?}");
    assert_eq!(ids(&found), [in_title.clone(), in_text]);
    let paged = app.get_at("/v1/search?q=concurrency&limit=1", at).await;
    assert_eq!(ids(&paged), [in_title]);
    assert!(paged.header("link").unwrap().contains("q=concurrency"));
    assert_eq!(
        ids(&app.get("/v1/search?q=kubernetes").await),
        Vec::<String>::new()
    );
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn tags_are_counted_as_resources_come_and_go(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    submit(&app, &ada, json!({"tags": ["rust", "async"]})).await;
    submit(&app, &ada, json!({"tags": ["rust"]})).await;
    let (gone, _) = submit(&app, &ada, json!({"tags": ["rust", "go"]})).await;
    let retracted = app
        .delete(&format!("/v1/resources/{gone}"), &ada.token)
        .await;
    let at = retracted.position();

    let tags = app.get_at("/v1/tags", at).await;
    assert_eq!(tags.status, 200, "{tags:#?}");
    assert_eq!(
        tags.body["items"],
        json!([{"tag": "rust", "resources": 2}, {"tag": "async", "resources": 1}])
    );
    let first = app.get_at("/v1/tags?limit=1", at).await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("/v1/tags?limit=1&cursor={cursor}")).await;
    assert_eq!(second.body["items"][0]["tag"], "async");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn an_edit_moves_a_resource_between_tag_lists_and_its_votes_follow(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let (moved, _) = submit(&app, &ada, json!({"tags": ["rust", "async"]})).await;
    let (stays, _) = submit(&app, &ada, json!({"tags": ["rust"]})).await;
    let edited = app
        .patch(
            &format!("/v1/resources/{moved}"),
            &json!({"tags": ["go"]}),
            &ada.token,
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:#?}");
    let voted = app
        .put(&format!("/v1/resources/{moved}/vote"), &grace.token)
        .await;
    let at = voted.position();

    assert_eq!(
        ids(&app.get_at("/v1/resources?tag=rust", at).await),
        std::slice::from_ref(&stays)
    );
    assert_eq!(
        ids(&app.get_at("/v1/resources?tag=async", at).await),
        Vec::<String>::new()
    );
    let top = app.get_at("/v1/resources?tag=go&sort=top", at).await;
    assert_eq!(ids(&top), std::slice::from_ref(&moved));
    assert_eq!(top.body["items"][0]["votes"], 1);
    let everything = app.get_at("/v1/resources?sort=top", at).await;
    assert_eq!(ids(&everything), [moved, stays]);
    assert_eq!(
        app.get_at("/v1/tags", at).await.body["items"],
        json!([{"tag": "rust", "resources": 1}, {"tag": "go", "resources": 1}])
    );
}
