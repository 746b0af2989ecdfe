//! Runs `wrk` and reads its report.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub fn check_installed() -> anyhow::Result<()> {
    Command::new("wrk")
        .arg("--version")
        .output()
        .context("wrk is not installed (just bench installs it: apt-get install wrk)")?;
    Ok(())
}

pub fn run(url: &str, connections: u32, duration: Duration) -> anyhow::Result<Measurement> {
    let output = Command::new("wrk")
        .args([
            "--latency",
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{}s", duration.as_secs()),
            url,
        ])
        .output()
        .context("running wrk")?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed: {report}");
    }
    if report.contains("Non-2xx or 3xx responses") {
        bail!("some answers were errors; the figures would mean nothing:\n{report}");
    }
    parse(&report).with_context(|| format!("unexpected wrk report:\n{report}"))
}

/// The run with the highest throughput: the least disturbed by the machine.
pub fn best(runs: &[Measurement]) -> Measurement {
    *runs
        .iter()
        .max_by(|a, b| a.requests_per_second.total_cmp(&b.requests_per_second))
        .expect("at least one run")
}

fn parse(report: &str) -> Option<Measurement> {
    let value_after = |label: &str| {
        report
            .lines()
            .find(|line| line.trim_start().starts_with(label))
            .and_then(|line| line.split_whitespace().nth(1))
            .map(str::to_owned)
    };
    Some(Measurement {
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
