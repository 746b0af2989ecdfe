//! Runs `wrk` and reads its report.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    pub requests: f64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// CPU time this process (the server) spent per request, in microseconds.
    /// Unlike throughput it does not move with what else the machine does.
    pub cpu_us_per_request: f64,
}

pub fn check_installed() -> anyhow::Result<()> {
    Command::new("wrk")
        .arg("--version")
        .output()
        .context("wrk is not installed (just bench installs it: apt-get install wrk)")?;
    Ok(())
}

/// Runs wrk on CPU 0 when `taskset` exists (the server is pinned to CPU 1
/// by `just bench`), so the two do not fight over one core.
/// `script`, if given, is a wrk Lua script that shapes each request.
pub fn run(
    url: &str,
    script: Option<&std::path::Path>,
    connections: u32,
    duration: Duration,
) -> anyhow::Result<Measurement> {
    let mut wrk_args = vec![
        "--latency".to_owned(),
        "-t1".to_owned(),
        format!("-c{connections}"),
        format!("-d{}s", duration.as_secs()),
    ];
    if let Some(script) = script {
        wrk_args.push("-s".to_owned());
        wrk_args.push(script.display().to_string());
    }
    wrk_args.push(url.to_owned());
    let mut command = on_cpu0("wrk");
    let cpu_before = process_cpu_seconds()?;
    let output = command.args(&wrk_args).output().context("running wrk")?;
    let cpu_spent = process_cpu_seconds()? - cpu_before;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed: {report}");
    }
    if report.contains("Non-2xx or 3xx responses") {
        bail!("some answers were errors; the figures would mean nothing:\n{report}");
    }
    let mut measurement =
        parse(&report).with_context(|| format!("unexpected wrk report:\n{report}"))?;
    measurement.cpu_us_per_request = cpu_spent * 1e6 / measurement.requests;
    Ok(measurement)
}

/// A command that runs `program` on CPU 0 where `taskset` exists: load
/// generators go there, the server under test is on CPU 1 (`just bench`).
pub fn on_cpu0(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if Command::new("taskset").arg("-V").output().is_ok() {
        let mut pinned = Command::new("taskset");
        pinned.args(["-c", "0"]).arg(program);
        pinned
    } else {
        Command::new(program)
    }
}

/// User and system CPU time of this process so far, from /proc.
fn process_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("a stat line")?
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}

/// The median of each figure over several runs.
pub fn median(runs: &[Measurement]) -> Measurement {
    let mid = |pick: fn(&Measurement) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    Measurement {
        requests: mid(|m| m.requests),
        requests_per_second: mid(|m| m.requests_per_second),
        p50_ms: mid(|m| m.p50_ms),
        p99_ms: mid(|m| m.p99_ms),
        cpu_us_per_request: mid(|m| m.cpu_us_per_request),
    }
}

/// The median over rounds of `runs[i]`'s throughput over `baselines[i]`'s:
/// each pair ran back to back, so what drifts on the machine between
/// rounds cancels out of each ratio instead of adding to the spread.
pub fn paired_ratio(runs: &[Measurement], baselines: &[Measurement]) -> f64 {
    let mut ratios: Vec<f64> = runs
        .iter()
        .zip(baselines)
        .map(|(run, base)| run.requests_per_second / base.requests_per_second)
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn parse(report: &str) -> Option<Measurement> {
    let value_after = |label: &str| {
        report
            .lines()
            .find(|line| line.trim_start().starts_with(label))
            .and_then(|line| line.split_whitespace().nth(1))
            .map(str::to_owned)
    };
    let requests = report
        .lines()
        .find(|line| line.contains("requests in"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(Measurement {
        requests,
        cpu_us_per_request: 0.0,
        requests_per_second: value_after("Requests/sec:")?.parse().ok()?,
        p50_ms: millis(&value_after("50%")?)?,
        p99_ms: millis(&value_after("99%")?)?,
    })
}

fn millis(raw: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = raw.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = raw.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = raw.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    Some(number.parse::<f64>().ok()? * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(requests_per_second: f64) -> Measurement {
        Measurement {
            requests: 0.0,
            requests_per_second,
            p50_ms: 0.0,
            p99_ms: 0.0,
            cpu_us_per_request: 0.0,
        }
    }

    #[test]
    fn a_paired_ratio_ignores_drift_between_rounds() {
        // The machine halves its speed in the third round, between the
        // baseline's run and the measured one.
        let baselines = [at(100.0), at(100.0), at(100.0), at(50.0), at(50.0)];
        let runs = [at(90.0), at(90.0), at(45.0), at(45.0), at(45.0)];
        assert!((paired_ratio(&runs, &baselines) - 0.9).abs() < 1e-9);
        // Medians taken apart mistake the drift for the difference.
        let apart = median(&runs).requests_per_second / median(&baselines).requests_per_second;
        assert!((apart - 0.45).abs() < 1e-9);
    }

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 8s test @ http://127.0.0.1:1/x
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   610.44us  300.00us   9.00ms   90.00%
  Latency Distribution
     50%  512.00us
     75%  700.00us
     90%    1.00ms
     99%    2.50ms
  400000 requests in 8.00s, 300.00MB read
Requests/sec:  50000.12
Transfer/sec:     37.50MB
";
        let m = parse(report).unwrap();
        assert!((m.requests_per_second - 50000.12).abs() < 1e-6);
        assert!((m.p50_ms - 0.512).abs() < 1e-9);
        assert!((m.p99_ms - 2.5).abs() < 1e-9);
    }
}
