//! `just bench`: starts Resourcify nodes in this (release) process over
//! 100,000 resources appended to the event log, drives them with `wrk` on
//! loopback, and prints every figure as a ratio to baselines measured in the
//! same run: a constant answer (the HTTP stack's ceiling) and a plain
//! handler reading the same row from an indexed Postgres table.
//!
//! `resourcify-bench projection [EVENTS]` measures projection instead (see
//! `projection.rs`); `resourcify-bench projector-nodes [EVENTS]`, one
//! projector process against two (`projector_nodes.rs`);
//! `resourcify-bench streams`, event streams (`streams.rs`);
//! `resourcify-bench soak [MINUTES]`, a node's memory under mixed load
//! (`soak.rs`); `resourcify-bench writes`, only the write path
//! (`writes.rs`), which the full run measures last;
//! `resourcify-bench under-load [EVENTS]`, reads while writes and a replay
//! run, and the projections' lag under the highest write rate
//! (`under_load.rs`). `resourcify-bench drive …` is the fixed-rate load
//! generator those run in processes of their own (`drive.rs`).

mod baselines;
mod drive;
mod new_views;
mod projection;
mod projector_nodes;
mod seed;
mod soak;
mod streams;
mod under_load;
mod writes;
mod wrk;

use std::str::FromStr;
use std::time::{Duration, Instant};

use resourcify::{NodeSettings, Roles, RunningNode};
use resourcify_api::{ApiSettings, Budget, RateLimitSettings};
use resourcify_app::{AppSettings, TokenSecret};
use resourcify_readmodel::projections::Projection;
use resourcify_readmodel::{PoolSettings, ReadModel};
use resourcify_testkit::NamespaceGuard;
use resourcify_testkit::load::Member;
use sqlx::postgres::PgConnectOptions;

const SEEDED_RESOURCES: usize = 100_000;
const CONNECTIONS: u32 = 32;
const ROUNDS: usize = 5;
/// Pairs of runs (without middleware, with it) for the middleware's cost,
/// which is small beside the machine's drift: more pairs, each in turn
/// led by one side and then the other.
const MIDDLEWARE_PAIRS: usize = 11;
const RUN: Duration = Duration::from_secs(3);

/// How a node under test differs from the default.
#[derive(Debug, Clone, Copy)]
enum Variant {
    /// The API as deployed.
    Full,
    /// Without request ids, metrics and rate limits.
    Bare,
    /// With no view cache: every read goes to Postgres.
    Uncached,
}

fn settings(
    database: &PgConnectOptions,
    guard: &NamespaceGuard,
    roles: Roles,
    variant: Variant,
) -> NodeSettings {
    // Budgets no benchmark reaches: the limiter still runs on every request.
    let unlimited = Budget::from_str("4000000000/s").expect("a budget");
    let mut app = AppSettings::with_secret(TokenSecret::new("bench-secret"));
    if let Variant::Uncached = variant {
        app.cache_capacity = 0;
    }
    NodeSettings {
        database: database.clone(),
        read_databases: Vec::new(),
        read_replicas: Default::default(),
        nats_url: resourcify_testkit::nats_url(),
        listen: "127.0.0.1:0".parse().expect("an address"),
        // Nothing scrapes a benchmark's node.
        metrics_listen: None,
        namespace: guard.namespace().clone(),
        replicas: 1,
        roles,
        migrate: false,
        app,
        api: ApiSettings {
            rate_limits: RateLimitSettings::uniform(unlimited),
            bare: matches!(variant, Variant::Bare),
            ..ApiSettings::default()
        },
        slow_query: Duration::from_millis(250),
        api_pool: PoolSettings::default(),
        projector_pool: PoolSettings::default(),
        ingester: resourcify_news::IngesterSettings::default(),
        news_fetch: Default::default(),
    }
}

/// A node of `roles` over the bench's database and namespace.
async fn start(
    database: &PgConnectOptions,
    guard: &NamespaceGuard,
    roles: Roles,
    variant: Variant,
) -> anyhow::Result<RunningNode> {
    resourcify::start(settings(database, guard, roles, variant)).await
}

fn base_url(node: &RunningNode) -> String {
    format!("http://{}", node.addr.expect("the API listens"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "drive") {
        return drive::run(args.skip(1)).await;
    }
    // The same logging as `serve`, so per-request spans cost what they cost there.
    resourcify::init_tracing(false);
    let admin = PgConnectOptions::from_str(
        &std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    )?;
    let db_name = format!("resourcify_bench_{}", std::process::id());
    let database = admin.clone().database(&db_name);
    resourcify::migrate(&database).await?;
    let guard = NamespaceGuard::new();

    let result = match args.next().as_deref() {
        Some("streams") => {
            let settings = settings(&database, &guard, Roles::ALL, Variant::Full);
            streams::run(settings, &database).await
        }
        Some("projector-nodes") => {
            let events = args.next().map_or(Ok(200_000), |n| n.parse())?;
            projector_nodes::run(&admin, &db_name, events).await
        }
        Some("soak") => {
            let minutes = args.next().map_or(Ok(10), |n| n.parse())?;
            soak::run(&database, &guard, minutes).await
        }
        Some("projection") => {
            let events = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
            let baseline = admin.clone().database(&format!("{db_name}_deferred"));
            resourcify::migrate(&baseline).await?;
            projection::run(&database, &baseline, events).await
        }
        Some("new-views") => {
            let events = args.next().map_or(Ok(200_000), |n| n.parse())?;
            // Names of new projections, to weigh each alone; none: all.
            let added = args
                .map(|name| {
                    Projection::from_name(&name)
                        .ok_or_else(|| anyhow::anyhow!("no projection is called {name}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            new_views::run(&admin, &db_name, events, &added).await
        }
        Some("under-load") => match wrk::check_installed() {
            Ok(()) => {
                let events = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
                under_load::run(&database, &guard, events).await
            }
            Err(missing) => Err(missing),
        },
        Some("writes") => match wrk::check_installed() {
            Ok(()) => writes_alone(&database, &guard).await,
            Err(missing) => Err(missing),
        },
        _ => match wrk::check_installed() {
            Ok(()) => run(&database, &guard).await,
            Err(missing) => Err(missing),
        },
    };

    let pool = sqlx::PgPool::connect_with(admin).await?;
    let scratch = ["", "_deferred", "_nodes1", "_nodes2"].map(|s| format!("{db_name}{s}"));
    for name in scratch {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&pool)
        .await?;
    }
    result
}

/// One row of the report.
struct Scenario {
    label: &'static str,
    url: String,
    script: Option<std::path::PathBuf>,
    /// What it is divided by, and the least ratio it must reach.
    target: Option<(Baseline, f64)>,
    runs: Vec<wrk::Measurement>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Baseline {
    Constant,
    PlainPostgres,
    NoMiddleware,
}

impl Scenario {
    fn new(label: &'static str, url: String, target: Option<(Baseline, f64)>) -> Self {
        Self {
            label,
            url,
            script: None,
            target,
            runs: Vec::new(),
        }
    }
}

async fn run(database: &PgConnectOptions, guard: &NamespaceGuard) -> anyhow::Result<()> {
    // The projectors on a node of their own, so every API node carries the
    // same background.
    let api_only = Roles::API_ONLY;
    let projector_only = Roles::PROJECTOR_ONLY;
    let projectors = start(database, guard, projector_only, Variant::Full).await?;
    let full = start(database, guard, api_only, Variant::Full).await?;
    let bare = start(database, guard, api_only, Variant::Bare).await?;
    let uncached = start(database, guard, api_only, Variant::Uncached).await?;
    let http = reqwest::Client::new();
    let Member {
        user_id: author_id,
        token,
    } = Member::register(&base_url(&full), "bench").await;

    // The dataset, then the time the projections take to build the views.
    let (ids, append_rate) =
        seed::submissions(&projectors.store, author_id, SEEDED_RESOURCES).await?;
    let id = ids[ids.len() / 2];
    let head = projectors.store.head().await?;
    let started = Instant::now();
    let pool = resourcify_readmodel::connect(database.clone(), &PoolSettings::default()).await?;
    let reads = ReadModel::new(pool.clone(), Duration::from_secs(5));
    while reads.projection_checkpoint("resources").await? < head {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let projected = SEEDED_RESOURCES as f64 / started.elapsed().as_secs_f64();
    println!(
        "seeded {SEEDED_RESOURCES} resources: appended at {append_rate:.0} events/s, \
         projected (resources view, all lists) at {projected:.0} events/s"
    );

    let baseline = baselines::serve(pool).await?;
    let detail = format!("/v1/resources/{id}");
    let warm = [
        format!("{}{detail}", base_url(&full)),
        format!("{}{detail}", base_url(&bare)),
        format!("{}/v1/resources?tag=t7", base_url(&full)),
        format!("{}/v1/feed", base_url(&full)),
    ];
    for url in &warm {
        http.get(url).send().await?.error_for_status()?;
    }
    let miss_url = format!("{}{detail}", base_url(&uncached));
    for _ in 0..2 {
        let answer = http.get(&miss_url).send().await?.error_for_status()?;
        anyhow::ensure!(
            answer.headers().get("x-cache").is_some_and(|v| v == "miss"),
            "the uncached node answered from a cache"
        );
    }

    let spread =
        std::env::temp_dir().join(format!("resourcify-bench-{}-rows.lua", std::process::id()));
    std::fs::write(&spread, spread_script(&ids[..1000]))?;
    let mut scenarios = vec![
        Scenario::new(
            "baseline: constant answer",
            format!("http://{baseline}/constant"),
            None,
        ),
        Scenario::new(
            "baseline: plain Postgres row",
            format!("http://{baseline}/row/{id}"),
            None,
        ),
        Scenario::new(
            "baseline: warm detail, no middleware",
            warm[1].clone(),
            None,
        ),
        Scenario::new(
            "GET /v1/resources/{id}, warm",
            warm[0].clone(),
            Some((Baseline::Constant, 0.6)),
        ),
        Scenario::new(
            "GET /v1/resources?tag=…, warm",
            warm[2].clone(),
            Some((Baseline::Constant, 0.4)),
        ),
        Scenario::new(
            "GET /v1/feed, warm",
            warm[3].clone(),
            Some((Baseline::Constant, 0.4)),
        ),
        Scenario::new(
            "GET /v1/resources/{id}, cache miss",
            miss_url,
            Some((Baseline::PlainPostgres, 1.0)),
        ),
        Scenario::new(
            "middleware on a warm detail",
            warm[0].clone(),
            Some((Baseline::NoMiddleware, 0.95)),
        ),
        Scenario {
            script: Some(spread.clone()),
            ..Scenario::new(
                "baseline: plain Postgres, 1,000 rows",
                format!("http://{baseline}/row/"),
                None,
            )
        },
        Scenario {
            script: Some(spread.clone()),
            ..Scenario::new(
                "GET /v1/resources/{id}, miss, 1,000 rows",
                format!("{}/v1/resources/", base_url(&uncached)),
                None,
            )
        },
    ];
    // Alternating short runs, then medians: drift on the machine hits all alike.
    for _ in 0..ROUNDS {
        for scenario in scenarios.iter_mut() {
            // The middleware row reuses the warm detail runs.
            if scenario.label.starts_with("middleware") {
                continue;
            }
            let measured = wrk::run(&scenario.url, scenario.script.as_deref(), CONNECTIONS, RUN)?;
            scenario.runs.push(measured);
        }
    }
    for pair in ROUNDS..MIDDLEWARE_PAIRS {
        let order = if pair % 2 == 0 { [2, 3] } else { [3, 2] };
        for index in order {
            let scenario = &mut scenarios[index];
            let measured = wrk::run(&scenario.url, None, CONNECTIONS, RUN)?;
            scenario.runs.push(measured);
        }
    }
    let warm_detail_runs = scenarios[3].runs.clone();
    scenarios[7].runs = warm_detail_runs;

    let _ = std::fs::remove_file(&spread);
    report(&scenarios);

    // Writes last: they grow the lists the reads above measured.
    let target = writes::Target {
        node: &full,
        author_token: &token,
        resources: &ids,
        pool: reads.pool().clone(),
    };
    writes::run(target, Some(projectors)).await
}

/// `resourcify-bench writes`: the write path alone, over fewer resources.
async fn writes_alone(database: &PgConnectOptions, guard: &NamespaceGuard) -> anyhow::Result<()> {
    let projectors = start(database, guard, Roles::PROJECTOR_ONLY, Variant::Full).await?;
    let full = start(database, guard, Roles::API_ONLY, Variant::Full).await?;
    let Member {
        user_id: author_id,
        token,
    } = Member::register(&base_url(&full), "bench").await;
    let (ids, _) = seed::submissions(&projectors.store, author_id, 20_000).await?;
    let pool = resourcify_readmodel::connect(database.clone(), &PoolSettings::default()).await?;
    let target = writes::Target {
        node: &full,
        author_token: &token,
        resources: &ids,
        pool,
    };
    writes::run(target, Some(projectors)).await
}

/// A wrk script that asks for one of `ids` at random, appended to the URL's path.
fn spread_script(ids: &[uuid::Uuid]) -> String {
    let list: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    format!(
        r#"local ids = {{{}}}
request = function()
  return wrk.format(nil, wrk.path .. ids[math.random(#ids)])
end
"#,
        list.join(",")
    )
}

fn report(scenarios: &[Scenario]) {
    let runs = |label_start: &str| {
        &scenarios
            .iter()
            .find(|s| s.label.starts_with(label_start))
            .expect("a baseline row")
            .runs
    };
    let constant_runs = runs("baseline: constant");
    let plain_runs = runs("baseline: plain Postgres");
    let bare_runs = runs("baseline: warm detail, no middleware");
    let constant = wrk::median(constant_runs);
    let plain = wrk::median(plain_runs);
    println!();
    println!(
        "{CONNECTIONS} connections, median of {ROUNDS} alternating runs of {}s (warm detail \
         with and without middleware: {MIDDLEWARE_PAIRS}); targets compare each run with its \
         baseline's run of the same round",
        RUN.as_secs()
    );
    println!(
        "{:<40} {:>9} {:>8} {:>8} {:>10} {:>10} {:>10}  target",
        "", "req/s", "p50 ms", "p99 ms", "CPU us/req", "x const", "x plain PG"
    );
    let mut failed = Vec::new();
    for scenario in scenarios {
        let m = wrk::median(&scenario.runs);
        let verdict = match scenario.target {
            None => String::new(),
            Some((against, least)) => {
                let base = match against {
                    Baseline::Constant => constant_runs,
                    Baseline::PlainPostgres => plain_runs,
                    Baseline::NoMiddleware => bare_runs,
                };
                let ratio = wrk::paired_ratio(&scenario.runs, base);
                let name = match against {
                    Baseline::Constant => "x const",
                    Baseline::PlainPostgres => "x plain PG",
                    Baseline::NoMiddleware => "x no middleware",
                };
                let met = ratio >= least;
                if !met {
                    failed.push(scenario.label);
                }
                format!(
                    ">= {least:.2} {name}: {ratio:.2} {}",
                    if met { "met" } else { "NOT MET" }
                )
            }
        };
        println!(
            "{:<40} {:>9.0} {:>8.3} {:>8.3} {:>10.2} {:>10.2} {:>10.2}  {}",
            scenario.label,
            m.requests_per_second,
            m.p50_ms,
            m.p99_ms,
            m.cpu_us_per_request,
            m.requests_per_second / constant.requests_per_second,
            m.requests_per_second / plain.requests_per_second,
            verdict,
        );
    }
    // Throughput on a shared machine moves with the neighbours; the CPU the
    // server spends per request does not, so it shows the middleware's own
    // cost beside the throughput ratio.
    let cpu = |runs: &[wrk::Measurement]| wrk::median(runs).cpu_us_per_request;
    let (with, without) = (cpu(runs("GET /v1/resources/{id}, warm")), cpu(bare_runs));
    println!();
    println!(
        "middleware CPU per warm read: {with:.2} us with, {without:.2} us without ({:+.1}%)",
        (with / without - 1.0) * 100.0
    );
    println!();
    if failed.is_empty() {
        println!("every target met");
    } else {
        println!("targets not met: {}", failed.join("; "));
    }
}
