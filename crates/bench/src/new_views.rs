//! `resourcify-bench new-views`: what issue #25's views cost the live
//! projectors. One log is projected live by the projections there were
//! before the issue and by all of them, alternating, each run into a fresh
//! database of its own.
//!
//! Two figures a pair. The live rate is the issue's budget (at least 0.85
//! of the rate before), but it says what the new views cost only when the
//! machine's CPU is what bounds the projectors: on a day when they wait on
//! something else (the slowest projection's commits, a neighbour's steal)
//! the new views run in idle time and the rates match. So each run also
//! counts the whole machine's busy CPU time (Postgres, NATS and the
//! projectors alike) per event: the cost that a CPU-bound day turns into
//! rate.

use resourcify_projector::Projection;
use resourcify_readmodel::projections::Upkeep;
use sqlx::postgres::PgConnectOptions;

use crate::projection::{filled_log, project_live_of};

/// The projections there were before issue #25 added its views (history,
/// sites, flags, notifications; karma is kept by two of these).
const BEFORE_ISSUE_25: [Projection; 5] = [
    Projection::Users,
    Projection::Resources,
    Projection::Comments,
    Projection::Bookmarks,
    Projection::News,
];

/// The issue's budget: the live rate with its views keeps at least this
/// share of the rate without them.
const NEW_VIEWS_BUDGET: f64 = 0.85;

/// One run's figures.
struct Run {
    rate: f64,
    /// The machine's busy CPU time per event, in microseconds.
    cpu_per_event: f64,
}

/// Projects one log live with the projections before issue #25 and with
/// `added` besides (none named: all of them), alternating twice, and
/// prints each pair's rate and CPU ratios with the verdict on the budget.
pub async fn run(
    admin: &PgConnectOptions,
    db_name: &str,
    events: usize,
    added: &[Projection],
) -> anyhow::Result<()> {
    let (_guard, client, store) = filled_log(events).await?;
    let head = store.head().await?;
    let pool = sqlx::PgPool::connect_with(admin.clone()).await?;
    let after: Vec<Projection> = if added.is_empty() {
        Projection::ALL.to_vec()
    } else {
        BEFORE_ISSUE_25.iter().chain(added).copied().collect()
    };
    let mut pairs = Vec::new();
    for pair in 1..=2 {
        let mut runs = Vec::new();
        for (label, projections) in [("before", &BEFORE_ISSUE_25[..]), ("after", &after[..])] {
            let name = format!("{db_name}_views_{pair}_{label}");
            let database = admin.clone().database(&name);
            resourcify::migrate(&database).await?;
            let busy_before = machine_busy_seconds()?;
            let rate = project_live_of(
                projections,
                &store,
                client.clone(),
                &database,
                head,
                Upkeep::Incremental,
            )
            .await;
            let busy = machine_busy_seconds()? - busy_before;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&pool)
            .await?;
            let run = Run {
                rate: rate?,
                cpu_per_event: busy * 1e6 / head as f64,
            };
            println!(
                "pair {pair}, {label} ({} projections): {:.0} events/s, {:.0} µs of CPU an event",
                projections.len(),
                run.rate,
                run.cpu_per_event
            );
            runs.push(run);
        }
        pairs.push((
            runs[1].rate / runs[0].rate,
            runs[0].cpu_per_event / runs[1].cpu_per_event,
        ));
    }
    let listed = |ratios: Vec<f64>| {
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let worst_rate = pairs.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    println!(
        "the new views' live rate against before: {} (target ≥ {NEW_VIEWS_BUDGET}): {}",
        listed(pairs.iter().map(|p| p.0).collect()),
        if worst_rate >= NEW_VIEWS_BUDGET {
            "met"
        } else {
            "NOT MET"
        }
    );
    // Not the issue's budget, which is the rate: what the rate would be
    // on a machine that the CPU bounds (see the module's comment).
    println!(
        "the machine's CPU an event, before against after (the rate a CPU-bound machine \
         would keep): {}",
        listed(pairs.iter().map(|p| p.1).collect())
    );
    Ok(())
}

/// The machine's CPU time so far spent on anything but idling and waiting
/// (user, nice, system, interrupts), in seconds, from `/proc/stat`: every
/// process's, since Postgres and NATS do much of a projection's work.
fn machine_busy_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat
        .lines()
        .next()
        .filter(|line| line.starts_with("cpu "))
        .ok_or_else(|| anyhow::anyhow!("/proc/stat has no cpu line"))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    // user, nice, system, idle, iowait, irq, softirq: busy is all but the
    // fourth and fifth. Linux counts in USER_HZ, 100 a second.
    let busy: u64 = [0, 1, 2, 5, 6].iter().filter_map(|&i| ticks.get(i)).sum();
    Ok(busy as f64 / 100.0)
}
