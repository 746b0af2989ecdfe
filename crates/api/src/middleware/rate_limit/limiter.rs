//! One named budget per client, checked with GCRA (`governor`), and the
//! `RateLimit-Policy` and `RateLimit` headers its verdict adds to an answer.

use governor::RateLimiter;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use poem::Response;
use poem::http::{HeaderName, HeaderValue};

use super::Budget;
use crate::telemetry::RATE_LIMITED_REQUESTS;

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

// foldhash: hashing the key is most of a check, and foldhash's randomly
// seeded hash costs a fraction of std's SipHash.
type KeyedLimiter<K> = RateLimiter<
    K,
    DashMapStateStore<K, foldhash::fast::RandomState>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One named budget and its per-key state.
pub(super) struct Limiter<K: Clone + Eq + std::hash::Hash> {
    pub(super) name: &'static str,
    pub(super) budget: Budget,
    /// `RateLimit-Policy`, the same for every answer.
    pub(super) policy: HeaderValue,
    pub(super) state: KeyedLimiter<K>,
    /// Requests refused; registered with the budget, so listed from the start.
    pub(super) refused: metrics::Counter,
}

/// Headers and outcome of one check.
pub(crate) struct Verdict {
    pub(super) policy: HeaderValue,
    pub(super) remaining: u32,
    /// Seconds until the full budget is available again.
    reset: u64,
    /// Set when refused: seconds until one request is allowed.
    pub(super) retry_after: Option<u64>,
}

impl<K: Clone + Eq + std::hash::Hash> Limiter<K> {
    pub(super) fn new(name: &'static str, budget: Budget) -> Self {
        let policy = format!(
            "\"{name}\";q={};w={}",
            budget.count,
            budget.period.as_secs()
        );
        Self {
            name,
            budget,
            policy: HeaderValue::from_str(&policy).expect("a budget name is a valid header"),
            state: RateLimiter::dashmap_with_clock_and_hasher(
                budget.quota(),
                DefaultClock::default(),
                foldhash::fast::RandomState::default(),
            )
            .with_middleware(),
            refused: metrics::counter!(RATE_LIMITED_REQUESTS, "budget" => name),
        }
    }

    pub(super) fn check(&self, key: &K) -> Verdict {
        let per_unit = self.budget.period.as_secs_f64() / f64::from(self.budget.count.get());
        let policy = self.policy.clone();
        match self.state.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.budget.count.get() - remaining;
                Verdict {
                    policy,
                    remaining,
                    reset: (f64::from(used) * per_unit).ceil() as u64,
                    retry_after: None,
                }
            }
            Err(not_until) => {
                self.refused.increment(1);
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Verdict {
                    policy,
                    remaining: 0,
                    reset: (f64::from(self.budget.count.get()) * per_unit).ceil() as u64,
                    retry_after: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
                }
            }
        }
    }
}

/// Adds `RateLimit-Policy` and `RateLimit` to an admitted request's answer.
pub(crate) fn add_headers(response: &mut Response, verdict: Verdict, budget: &str) {
    // Written into a stack buffer: this runs on every request, and the
    // formatting machinery costs more than the rest of the check.
    let mut state = [0u8; 80];
    let mut length = 0;
    let (mut remaining, mut reset) = (itoa::Buffer::new(), itoa::Buffer::new());
    for part in [
        b"\"".as_slice(),
        budget.as_bytes(),
        b"\";r=",
        remaining.format(verdict.remaining).as_bytes(),
        b";t=",
        reset.format(verdict.reset).as_bytes(),
    ] {
        state[length..length + part.len()].copy_from_slice(part);
        length += part.len();
    }

    let headers = response.headers_mut();
    headers.insert(RATELIMIT_POLICY.clone(), verdict.policy);
    if let Ok(state) = HeaderValue::from_bytes(&state[..length]) {
        headers.insert(RATELIMIT.clone(), state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admitted_answer_says_what_is_left_and_when_it_is_full_again() {
        let limiter = Limiter::<String>::new("reads", "4000000000/s".parse().unwrap());
        let verdict = limiter.check(&"client".to_owned());
        let mut response = Response::default();
        add_headers(&mut response, verdict, "reads");
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(header("ratelimit-policy"), "\"reads\";q=4000000000;w=1");
        assert_eq!(header("ratelimit"), "\"reads\";r=3999999999;t=1");
    }

    #[test]
    fn a_client_gets_its_burst_then_is_refused_while_another_is_not() {
        let limiter = Limiter::new("reads", "3/min".parse().unwrap());
        let (a, b) = ("a".to_owned(), "b".to_owned());
        let remaining: Vec<_> = (0..3).map(|_| limiter.check(&a).remaining).collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limiter.check(&a);
        assert!(refused.retry_after.is_some_and(|s| (1..=20).contains(&s)));
        assert!(limiter.check(&b).retry_after.is_none());
    }
}
