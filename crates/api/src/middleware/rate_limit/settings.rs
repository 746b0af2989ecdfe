//! The budgets of the rate limits, as configuration gives them: `600/min`,
//! `10/s`, `100/h`.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::Quota;

use crate::client_address::TrustedProxies;

/// `count` requests per `period`, refilled continuously; bursts up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub count: NonZeroU32,
    pub period: Duration,
}

impl FromStr for Budget {
    type Err = String;

    /// Parses `600/min`, `10/s`, `100/h`.
    fn from_str(raw: &str) -> Result<Self, String> {
        let (count, unit) = raw
            .split_once('/')
            .ok_or_else(|| format!("budget {raw:?} is not COUNT/UNIT (e.g. 600/min)"))?;
        let count = count
            .trim()
            .parse::<NonZeroU32>()
            .map_err(|_| format!("budget {raw:?} needs a positive count"))?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => return Err(format!("budget unit {other:?} is not s, min or h")),
        };
        Ok(Self { count, period })
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.count, self.period.as_secs())
    }
}

impl Budget {
    pub(super) fn quota(self) -> Quota {
        let interval = self.period / self.count.get();
        Quota::with_period(interval.max(Duration::from_nanos(1)))
            .expect("a non-zero period")
            .allow_burst(self.count)
    }
}

/// Every budget, from configuration.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    pub reads: Budget,
    pub writes: Budget,
    /// Sign-ups per client address.
    pub signups: Budget,
    /// Login attempts per client address.
    pub logins: Budget,
    /// Failed logins per account and client address: what one address may
    /// guess at one account, and no more, whoever else tries it.
    pub login_failures: Budget,
    /// Failed logins per account from all addresses together: a ceiling on
    /// a guess spread over many addresses, above what one member mistypes.
    pub login_failures_per_account: Budget,
    /// Comments per member, on top of writes: a pace no person keeps up
    /// and a script does at once.
    pub comments: Budget,
    /// Follows (of tags and members) per member, on top of writes.
    pub follows: Budget,
    /// Long-polling reads (`X-Resourcify-Min-Position`) one client may hold open at once.
    pub max_waiting_reads: usize,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        let budget = |raw: &str| raw.parse().expect("a valid default budget");
        Self {
            reads: budget("1200/min"),
            writes: budget("120/min"),
            signups: budget("10/h"),
            logins: budget("30/min"),
            login_failures: budget("10/h"),
            login_failures_per_account: budget("100/h"),
            comments: budget("10/min"),
            follows: budget("30/min"),
            max_waiting_reads: 16,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

impl RateLimitSettings {
    /// Every budget the same, other settings default; for tests and benchmarks
    /// that must not be limited (the limiter still runs on every request).
    pub fn uniform(budget: Budget) -> Self {
        Self {
            reads: budget,
            writes: budget,
            signups: budget,
            logins: budget,
            login_failures: budget,
            login_failures_per_account: budget,
            comments: budget,
            follows: budget,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_from_configuration() {
        let budget: Budget = "600/min".parse().unwrap();
        assert_eq!(budget.count.get(), 600);
        assert_eq!(budget.period, Duration::from_secs(60));
        assert!("0/min".parse::<Budget>().is_err());
        assert!("ten/s".parse::<Budget>().is_err());
        assert!("5/day".parse::<Budget>().is_err());
    }
}
