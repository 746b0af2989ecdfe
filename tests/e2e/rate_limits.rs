//! Rate limits: per-client budgets with 429, Retry-After and RateLimit headers.

use std::time::Duration;

use resourcify::{NodeSettings, Roles};
use resourcify_testkit::{PASSWORD, spawn_app_configured};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn budget(raw: &str) -> resourcify_api::Budget {
    raw.parse().unwrap()
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_burst_over_the_read_budget_is_refused_until_retry_after(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.api.rate_limits.reads = budget("3/s");
    })
    .await;

    for remaining in [2, 1, 0] {
        let ok = app.get("/v1/resources").await;
        assert_eq!(ok.status, 200, "{ok:#?}");
        assert_eq!(ok.header("ratelimit-policy"), Some("\"reads\";q=3;w=1"));
        let state = ok.header("ratelimit").unwrap();
        assert!(
            state.starts_with(&format!("\"reads\";r={remaining};t=")),
            "{state}"
        );
    }

    let refused = app.get("/v1/resources").await;
    refused.assert_problem(429);
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(retry_after, 1);
    assert_eq!(
        refused.header("ratelimit-policy"),
        Some("\"reads\";q=3;w=1")
    );
    assert_eq!(refused.header("ratelimit"), Some("\"reads\";r=0;t=1"));

    // The client comes back until it is let in. It must be let in by the
    // time the server named, and every refusal on the way must name a time
    // no later than the first one did: the budget refills, it never moves
    // the promise back.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(retry_after);
    let mut retries = tokio::time::interval(Duration::from_millis(50));
    loop {
        retries.tick().await;
        let again = app.get("/v1/resources").await;
        if again.status == 200 {
            break;
        }
        again.assert_problem(429);
        let promised: u64 = again.header("retry-after").unwrap().parse().unwrap();
        assert!(promised <= retry_after, "{promised} > {retry_after}");
        assert!(
            tokio::time::Instant::now() < deadline + Duration::from_millis(500),
            "still refused after the Retry-After the server gave"
        );
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn one_users_burst_does_not_limit_another(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.api.rate_limits.writes = budget("2/min");
    })
    .await;
    let (ada, grace) = (app.register("ada").await, app.register("grace").await);

    for _ in 0..2 {
        assert_eq!(app.submit(&ada.token, json!({})).await.status, 201);
    }
    app.submit(&ada.token, json!({})).await.assert_problem(429);
    // Same address, different user: a budget of its own.
    assert_eq!(app.submit(&grace.token, json!({})).await.status, 201);
}

/// A client whose requests come from `address`, another loopback address
/// than the tests' own (127.0.0.1): the server sees another peer.
fn client_from(address: &str) -> reqwest::Client {
    let address: std::net::IpAddr = address.parse().unwrap();
    reqwest::Client::builder()
        .local_address(address)
        .build()
        .unwrap()
}

fn login(login: &str, password: &str) -> serde_json::Value {
    json!({"login": login, "password": password})
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn failed_logins_by_username_and_by_email_spend_one_budget_of_the_account(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.api.rate_limits.login_failures = budget("3/min");
    })
    .await;
    let ada = app.register("ada").await;
    let grace = app.register("grace").await;
    let path = format!("/v1/sessions?min_position={}", grace.position);

    // Successes spend nothing, however many.
    for _ in 0..4 {
        let ok = app.post(&path, &login("ada", PASSWORD), None).await;
        assert_eq!(ok.status, 200, "{ok:#?}");
    }
    // Three failures, by username and by e-mail, are ada's three.
    for typed in ["ada", " ADA ", "ada@example.org"] {
        app.post(&path, &login(typed, "guessing wrong"), None)
            .await
            .assert_problem(401);
    }
    // Now no password is checked, the right one included, by either name.
    for typed in ["ada", "Ada@Example.org"] {
        let locked = app.post(&path, &login(typed, PASSWORD), None).await;
        locked.assert_problem(429);
        let retry_after: u64 = locked.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=20).contains(&retry_after), "{locked:#?}");
        assert_eq!(
            locked.header("ratelimit-policy"),
            Some("\"login_failures\";q=3;w=60")
        );
    }
    assert_eq!(ada.username, "ada");

    // Another account, from the same address, is not affected.
    let other = app.post(&path, &login("grace", PASSWORD), None).await;
    assert_eq!(other.status, 200, "{other:#?}");

    // A login that names no account is limited, and answered, alike: the
    // answers do not tell which accounts exist.
    for _ in 0..3 {
        app.post(&path, &login("nobody", "guessing wrong"), None)
            .await
            .assert_problem(401);
    }
    let unknown = app.post(&path, &login("nobody", PASSWORD), None).await;
    unknown.assert_problem(429);
    let known = app.post(&path, &login("ada", PASSWORD), None).await;
    assert_eq!(unknown.body["type"], known.body["type"]);
    assert_eq!(unknown.body["detail"], known.body["detail"]);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn an_address_guessing_at_an_account_does_not_lock_the_member_out_of_theirs(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.api.rate_limits.login_failures = budget("3/min");
        s.api.rate_limits.login_failures_per_account = budget("5/min");
    })
    .await;
    let ada = app.register("ada").await;
    let path = format!("/v1/sessions?min_position={}", ada.position);
    let from = |client: &reqwest::Client, body: serde_json::Value| {
        app.send(client.post(app.url(&path)).json(&body))
    };
    let (attacker, accomplice) = (client_from("127.0.0.2"), client_from("127.0.0.3"));

    // The attacker uses up ada's budget at its address, by both names.
    for typed in ["ada", "ada@example.org", "ada"] {
        from(&attacker, login(typed, "guessing wrong"))
            .await
            .assert_problem(401);
    }
    let locked = from(&attacker, login("ada", "guessing again")).await;
    locked.assert_problem(429);
    assert!(locked.header("retry-after").is_some(), "{locked:#?}");

    // Ada, from her own address, logs in; it costs her nothing.
    let member = app.post(&path, &login("ada", PASSWORD), None).await;
    assert_eq!(member.status, 200, "{member:#?}");

    // A guess spread over addresses meets the account's ceiling: two more
    // failures from elsewhere make five, and then no address gets in.
    for _ in 0..2 {
        from(&accomplice, login("ada", "guessing wrong"))
            .await
            .assert_problem(401);
    }
    let ceiling = app.post(&path, &login("ada", PASSWORD), None).await;
    ceiling.assert_problem(429);
    assert_eq!(
        ceiling.header("ratelimit-policy"),
        Some("\"login_failures_per_account\";q=5;w=60")
    );
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.api.rate_limits.reads = budget("2/min");
        // A proxy at another address than the tests' own.
        s.api.rate_limits.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()].into();
    })
    .await;
    let get_as = |client: &'static str| {
        app.http
            .get(app.url("/v1/resources"))
            .header("x-forwarded-for", client)
            .send()
    };
    // A fresh address on every request buys nothing: the peer is the client.
    for (spoofed, status) in [
        ("192.0.2.10", 200),
        ("192.0.2.11", 200),
        ("192.0.2.12", 429),
    ] {
        assert_eq!(get_as(spoofed).await.unwrap().status(), status);
    }
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn anonymous_clients_are_told_apart_by_address_through_trusted_proxies(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.api.rate_limits.reads = budget("2/min");
        // An address or a network; loopback is the tests' proxy.
        s.api.rate_limits.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()].into();
    })
    .await;
    let get_from = |forwarded: &'static str| {
        app.http
            .get(app.url("/v1/resources"))
            .header("x-forwarded-for", forwarded)
            .send()
    };
    // Documentation addresses (RFC 5737): only header values, no traffic.
    for _ in 0..2 {
        assert_eq!(get_from("192.0.2.10").await.unwrap().status(), 200);
    }
    assert_eq!(get_from("192.0.2.10").await.unwrap().status(), 429);
    // What the client wrote left of the address our proxy added proves
    // nothing: this is 192.0.2.10 again.
    let prefixed = get_from("203.0.113.99, 192.0.2.10").await.unwrap();
    assert_eq!(prefixed.status(), 429);
    assert_eq!(get_from("198.51.100.7").await.unwrap().status(), 200);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn oversized_bodies_are_413(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.api.max_body_bytes = 1024;
    })
    .await;
    let user = app.register("ada").await;
    let before = app.head().await;
    let huge = app
        .submit(&user.token, json!({"description": "x".repeat(4096)}))
        .await;
    huge.assert_problem(413);
    assert_eq!(app.head().await, before, "nothing appended");
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn a_client_may_hold_only_so_many_waiting_reads(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.roles = Roles::API_ONLY;
        s.api.rate_limits.max_waiting_reads = 2;
        s.app.read_wait = Duration::from_secs(1);
    })
    .await;
    // Nothing projects, so each of these waits for the whole read wait
    // for a position that is in the log.
    let registered = app
        .post(
            "/v1/users",
            &json!({"username": "ada", "email": "ada@example.org", "password": "long enough"}),
            None,
        )
        .await;
    let position = registered.position();
    let waits = (0..3).map(|_| app.get_at("/v1/resources", position));
    let mut statuses: Vec<u16> = futures::future::join_all(waits)
        .await
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [429, 503, 503]);
}

#[sqlx::test(migrator = "resourcify_readmodel::MIGRATOR")]
async fn comment_and_follow_bursts_are_refused_per_member(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_configured(db, |s: &mut NodeSettings| {
        s.api.rate_limits.comments = budget("3/min");
        s.api.rate_limits.follows = budget("2/min");
    })
    .await;
    let (ada, grace) = (app.register("ada").await, app.register("grace").await);
    let resource = app.submit(&ada.token, json!({})).await.id();
    let path = format!("/v1/resources/{resource}/comments");
    let body = json!({"body": "Another thought."});
    let comment =
        |token: &str| app.request(reqwest::Method::POST, &path, Some(&body), Some(token), None);
    for _ in 0..3 {
        assert_eq!(comment(&ada.token).await.status, 201);
    }
    let refused = comment(&ada.token).await;
    refused.assert_problem(429);
    assert!(refused.header("retry-after").is_some(), "{refused:#?}");
    // Another member's budget is their own.
    assert_eq!(comment(&grace.token).await.status, 201);

    let follow = |tag: &str| {
        app.request(
            reqwest::Method::PUT,
            &format!("/v1/me/followed-tags/{tag}"),
            None,
            Some(&ada.token),
            None,
        )
    };
    assert!(follow("rust").await.status.is_success());
    assert!(follow("go").await.status.is_success());
    follow("zig").await.assert_problem(429);
}
