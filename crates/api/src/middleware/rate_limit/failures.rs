//! The failed-login budgets: room for a failure is taken before the
//! password is checked and given back when it was right.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use resourcify_app::{AppError, LoginAccount, LoginFailures};

use super::{Budget, RateLimits};
use crate::telemetry::RATE_LIMITED_REQUESTS;

/// Failures per key against a budget, as GCRA like the limiters above, but
/// with room that can be given back: a login takes room for a failure
/// before checking the password and gives it back when the password was
/// right, which `governor` has no way to do.
pub(super) struct FailureCount<K> {
    name: &'static str,
    budget: Budget,
    /// Per key, when its budget is whole again (GCRA's theoretical arrival
    /// time); a key without an entry has its whole budget. A mutex is
    /// enough: each login also costs a password verification.
    whole_at: Mutex<HashMap<K, Instant>>,
    refused: metrics::Counter,
}

impl<K: Clone + Eq + std::hash::Hash> FailureCount<K> {
    pub(super) fn new(name: &'static str, budget: Budget) -> Self {
        Self {
            name,
            budget,
            whole_at: Mutex::new(HashMap::new()),
            refused: metrics::counter!(RATE_LIMITED_REQUESTS, "budget" => name),
        }
    }

    /// How much of the budget one failure is.
    fn one(&self) -> Duration {
        self.budget.period / self.budget.count.get()
    }

    fn whole_at(&self) -> std::sync::MutexGuard<'_, HashMap<K, Instant>> {
        self.whole_at.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes room for one failure of `key`'s, or refuses with how long
    /// until there is room again.
    pub(super) fn take(&self, key: &K, now: Instant) -> Result<(), AppError> {
        let mut whole_at = self.whole_at();
        let from = whole_at.get(key).copied().filter(|t| *t > now);
        let taken = from.unwrap_or(now) + self.one();
        let owed = taken - now;
        if owed > self.budget.period {
            self.refused.increment(1);
            return Err(AppError::TooManyFailedLogins {
                budget: self.name,
                limit: self.budget.count.get(),
                window: self.budget.period,
                retry_after: owed - self.budget.period,
            });
        }
        whole_at.insert(key.clone(), taken);
        Ok(())
    }

    /// Gives back what one [`Self::take`] took.
    pub(super) fn give_back(&self, key: &K, now: Instant) {
        let mut whole_at = self.whole_at();
        if let Some(at) = whole_at.get_mut(key) {
            match at.checked_sub(self.one()) {
                Some(earlier) if earlier > now => *at = earlier,
                _ => {
                    whole_at.remove(key);
                }
            }
        }
    }

    /// Forgets keys whose budget is whole again.
    pub(super) fn forget_idle(&self) {
        let now = Instant::now();
        let mut whole_at = self.whole_at();
        whole_at.retain(|_, at| *at > now);
        whole_at.shrink_to_fit();
    }
}

/// The failed-login budgets as the logins from one client address spend
/// them: per account and address, and per account from every address.
/// Failures from one address use up that address's budget only, so an
/// attacker's guesses never lock the member out of their own address; the
/// per-account ceiling, far above what a member mistypes, stops a guess
/// spread over many addresses.
pub(crate) struct LoginFailuresFrom<'a> {
    pub(super) limits: &'a RateLimits,
    pub(super) client: Option<IpAddr>,
}

impl LoginFailures for LoginFailuresFrom<'_> {
    fn take(&self, account: &LoginAccount) -> Result<(), AppError> {
        let (limits, now) = (self.limits, Instant::now());
        let here = (account.clone(), self.client);
        limits.login_failures.take(&here, now)?;
        if let Err(refused) = limits.login_failures_per_account.take(account, now) {
            limits.login_failures.give_back(&here, now);
            return Err(refused);
        }
        Ok(())
    }

    fn give_back(&self, account: &LoginAccount) {
        let (limits, now) = (self.limits, Instant::now());
        limits
            .login_failures
            .give_back(&(account.clone(), self.client), now);
        limits.login_failures_per_account.give_back(account, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_given_back_do_not_count_and_the_rest_refill_in_time() {
        let failures = FailureCount::new("login_failures", "3/min".parse().unwrap());
        let (ada, now) = ("ada".to_owned(), Instant::now());
        // Successes give back what they took, however many there are.
        for _ in 0..10 {
            failures.take(&ada, now).unwrap();
            failures.give_back(&ada, now);
        }
        for _ in 0..3 {
            failures.take(&ada, now).unwrap();
        }
        let Err(AppError::TooManyFailedLogins { retry_after, .. }) = failures.take(&ada, now)
        else {
            panic!("a fourth failure within the minute is refused");
        };
        assert_eq!(retry_after, Duration::from_secs(20));
        assert!(failures.take(&"grace".to_owned(), now).is_ok());
        // One failure's worth later, there is room for one more.
        let later = now + Duration::from_secs(20);
        assert!(failures.take(&ada, later).is_ok());
        assert!(failures.take(&ada, later).is_err());
    }
}
