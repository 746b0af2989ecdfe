//! `just bench`: starts Resourcify nodes in this (release) process, seeds
//! them through the real event path, drives them with `wrk` on loopback, and
//! prints every figure as a ratio to a baseline measured in the same run.
//!
//! Measured now: what the protective middleware (request ids, metrics, rate
//! limits) costs on a warm read, against the same node without it.

mod wrk;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use resourcify::{NodeSettings, Roles, RunningNode};
use resourcify_api::{ApiSettings, Budget, RateLimitSettings};
use resourcify_app::{AppSettings, TokenSecret};
use resourcify_readmodel::PoolSettings;
use resourcify_testkit::NamespaceGuard;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;

const SEEDED_RESOURCES: usize = 200;
const CONNECTIONS: u32 = 32;
const ROUNDS: usize = 9;
const RUN: Duration = Duration::from_secs(3);

fn settings(
    database: &PgConnectOptions,
    guard: &NamespaceGuard,
    roles: Roles,
    bare: bool,
) -> NodeSettings {
    // Budgets no benchmark reaches: the limiter still runs on every request.
    let unlimited = Budget::from_str("4000000000/s").expect("a budget");
    NodeSettings {
        database: database.clone(),
        nats_url: resourcify_testkit::nats_url(),
        listen: "127.0.0.1:0".parse().expect("an address"),
        namespace: guard.namespace().clone(),
        replicas: 1,
        roles,
        migrate: false,
        app: AppSettings::with_secret(TokenSecret::new("bench-secret")),
        api: ApiSettings {
            rate_limits: RateLimitSettings::uniform(unlimited),
            bare,
            ..ApiSettings::default()
        },
        slow_query: Duration::from_millis(250),
        api_pool: PoolSettings::default(),
        projector_pool: PoolSettings::default(),
    }
}

fn base_url(node: &RunningNode) -> String {
    format!("http://{}", node.addr.expect("the API listens"))
}

/// Registers one author and submits resources through the API; returns the
/// id of the last one and its position.
async fn seed(http: &reqwest::Client, base: &str) -> anyhow::Result<(String, u64)> {
    let registered: Value = http
        .post(format!("{base}/v1/users"))
        .json(&json!({"username": "bench", "email": "bench@example.org", "password": "benchmark password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let position = registered["position"].as_u64().context("a position")?;
    let session: Value = http
        .post(format!("{base}/v1/sessions"))
        .header("X-Resourcify-Min-Position", position)
        .json(&json!({"login": "bench", "password": "benchmark password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session["access_token"].as_str().context("a token")?;
    let mut last = (String::new(), 0);
    for i in 0..SEEDED_RESOURCES {
        let submitted: Value = http
            .post(format!("{base}/v1/resources"))
            .bearer_auth(token)
            .json(&json!({
                "title": format!("Benchmark resource {i}"),
                "url": format!("https://example.org/bench/{i}"),
                "description": "A resource that exists to be read many times.",
                "tags": ["bench", format!("t{}", i % 10)],
                "kind": "article",
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        last = (
            submitted["id"].as_str().context("an id")?.to_owned(),
            submitted["position"].as_u64().context("a position")?,
        );
    }
    Ok(last)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The same logging as `serve`, so per-request spans cost what they cost there.
    resourcify::init_tracing(false);
    wrk::check_installed()?;
    let admin = PgConnectOptions::from_str(
        &std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    )?;
    let db_name = format!("resourcify_bench_{}", std::process::id());
    let database = admin.clone().database(&db_name);
    resourcify::migrate(&database).await?;
    let guard = NamespaceGuard::new();

    let result = run(&database, &guard).await;

    let pool = sqlx::PgPool::connect_with(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
    )))
    .execute(&pool)
    .await?;
    result
}

async fn run(database: &PgConnectOptions, guard: &NamespaceGuard) -> anyhow::Result<()> {
    // Two API nodes that differ only in the middleware, and the projectors
    // on a node of their own, so both API nodes carry the same background.
    let api_only = Roles {
        api: true,
        projector: false,
    };
    let projector_only = Roles {
        api: false,
        projector: true,
    };
    let _projectors = resourcify::start(settings(database, guard, projector_only, false)).await?;
    let full = resourcify::start(settings(database, guard, api_only, false)).await?;
    let bare = resourcify::start(settings(database, guard, api_only, true)).await?;
    let http = reqwest::Client::new();
    let (id, position) = seed(&http, &base_url(&full)).await?;
    println!("seeded {SEEDED_RESOURCES} resources through the event log (head {position})");

    let path = format!("/v1/resources/{id}");
    for node in [&full, &bare] {
        // Waits for the projection, then fills the node's cache.
        http.get(format!("{}{path}", base_url(node)))
            .header("X-Resourcify-Min-Position", position)
            .send()
            .await?
            .error_for_status()?;
    }

    // Alternating short runs, then medians: drift on the machine hits both alike.
    let mut bare_runs = Vec::new();
    let mut full_runs = Vec::new();
    for _ in 0..ROUNDS {
        bare_runs.push(wrk::run(
            &format!("{}{path}", base_url(&bare)),
            CONNECTIONS,
            RUN,
        )?);
        full_runs.push(wrk::run(
            &format!("{}{path}", base_url(&full)),
            CONNECTIONS,
            RUN,
        )?);
    }
    let bare = wrk::median(&bare_runs);
    let full = wrk::median(&full_runs);

    println!();
    println!(
        "GET /v1/resources/{{id}}, warm (cache hit), {CONNECTIONS} connections, median of {ROUNDS} x {}s",
        RUN.as_secs()
    );
    println!(
        "{:<42} {:>9} {:>8} {:>8} {:>11} {:>9} {:>9}",
        "", "req/s", "p50 ms", "p99 ms", "CPU us/req", "req/s x", "CPU x"
    );
    let row = |label: &str, m: &wrk::Measurement| {
        println!(
            "{:<42} {:>9.0} {:>8.3} {:>8.3} {:>11.2} {:>9.2} {:>9.2}",
            label,
            m.requests_per_second,
            m.p50_ms,
            m.p99_ms,
            m.cpu_us_per_request,
            m.requests_per_second / bare.requests_per_second,
            m.cpu_us_per_request / bare.cpu_us_per_request,
        )
    };
    row("baseline: same node without middleware", &bare);
    row("with request id + metrics + rate limits", &full);
    println!();
    println!(
        "middleware cost: {:.1}% of warm-read throughput, {:.1}% more CPU per request (target: under 5%)",
        (1.0 - full.requests_per_second / bare.requests_per_second) * 100.0,
        (full.cpu_us_per_request / bare.cpu_us_per_request - 1.0) * 100.0,
    );
    Ok(())
}
