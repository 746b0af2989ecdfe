//! Per-client rate limits (GCRA, via `governor`) with separate budgets for
//! reads, writes, sign-ups and login attempts, a cap on how many
//! long-polling reads one client may hold open, and the count of failed
//! logins per account.
//!
//! A client is its user id when it presents a valid token, else its IP
//! address as [`TrustedProxies::client_of`] finds it, so nobody can pick a
//! fresh identity per request.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use poem::http::header::AUTHORIZATION;
use poem::http::{HeaderName, HeaderValue, Method};
use poem::{IntoResponse, Request, Response};
use resourcify_app::{AppError, LoginAccount, LoginFailures, Sessions};

use crate::ApiError;
use crate::client_address::TrustedProxies;
use crate::route_names::{self, RouteNames};
use crate::telemetry::RATE_LIMITED_REQUESTS;

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
    fn quota(self) -> Quota {
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

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static MIN_POSITION: HeaderName = HeaderName::from_static("x-resourcify-min-position");

/// Who a budget belongs to. Small and `Copy`, so a check allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    User(uuid::Uuid),
    Address(Option<IpAddr>),
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

// foldhash: hashing the key is most of a check, and foldhash's randomly
// seeded hash costs a fraction of std's SipHash.
type KeyedLimiter<K> = RateLimiter<
    K,
    DashMapStateStore<K, foldhash::fast::RandomState>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One named budget and its per-key state.
struct Limiter<K: Clone + Eq + std::hash::Hash> {
    name: &'static str,
    budget: Budget,
    /// `RateLimit-Policy`, the same for every answer.
    policy: HeaderValue,
    state: KeyedLimiter<K>,
    /// Requests refused; registered with the budget, so listed from the start.
    refused: metrics::Counter,
}

/// Headers and outcome of one check.
pub(crate) struct Verdict {
    policy: HeaderValue,
    remaining: u32,
    /// Seconds until the full budget is available again.
    reset: u64,
    /// Set when refused: seconds until one request is allowed.
    retry_after: Option<u64>,
}

impl<K: Clone + Eq + std::hash::Hash> Limiter<K> {
    fn new(name: &'static str, budget: Budget) -> Self {
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

    fn check(&self, key: &K) -> Verdict {
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

/// A budget other than reads and writes, for the operations below.
#[derive(Debug, Clone, Copy)]
enum OwnBudget {
    Logins,
    Signups,
    /// Spends no budget: health checks answer however busy a client has
    /// been.
    Exempt,
}

/// The operations with a budget of their own, by name; every other spends
/// reads or writes, by method.
const OWN_BUDGETS: [(&str, OwnBudget); 4] = [
    ("login", OwnBudget::Logins),
    ("register", OwnBudget::Signups),
    ("healthz", OwnBudget::Exempt),
    ("readyz", OwnBudget::Exempt),
];

/// An operation of [`OWN_BUDGETS`] as requests address it.
struct OwnRoute {
    method: Method,
    path: &'static str,
    budget: OwnBudget,
}

impl OwnRoute {
    /// Finds the operations' paths in the route table, once: a request is
    /// then matched by comparing its path, without a lookup.
    fn all(names: &'static RouteNames) -> Vec<Self> {
        OWN_BUDGETS
            .iter()
            .map(|&(id, budget)| {
                let route = names.literal(id);
                Self {
                    method: route.method.clone(),
                    path: route.path.as_str(),
                    budget,
                }
            })
            .collect()
    }
}

/// Failures per key against a budget, as GCRA like the limiters above, but
/// with room that can be given back: a login takes room for a failure
/// before checking the password and gives it back when the password was
/// right, which `governor` has no way to do.
struct FailureCount<K> {
    name: &'static str,
    budget: Budget,
    /// Per key, when its budget is whole again (GCRA's theoretical arrival
    /// time); a key without an entry has its whole budget. A mutex is
    /// enough: each login also costs a password verification.
    whole_at: Mutex<HashMap<K, Instant>>,
    refused: metrics::Counter,
}

impl<K: Clone + Eq + std::hash::Hash> FailureCount<K> {
    fn new(name: &'static str, budget: Budget) -> Self {
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
    fn take(&self, key: &K, now: Instant) -> Result<(), AppError> {
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
    fn give_back(&self, key: &K, now: Instant) {
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
    fn forget_idle(&self) {
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
    limits: &'a RateLimits,
    client: Option<IpAddr>,
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

/// All budgets of one API node.
pub struct RateLimits {
    own: Vec<OwnRoute>,
    reads: Limiter<Client>,
    writes: Limiter<Client>,
    signups: Limiter<Client>,
    logins: Limiter<Client>,
    login_failures: FailureCount<(LoginAccount, Option<IpAddr>)>,
    login_failures_per_account: FailureCount<LoginAccount>,
    comments: Limiter<uuid::Uuid>,
    follows: Limiter<uuid::Uuid>,
    max_waiting_reads: usize,
    waiting_reads: Mutex<HashMap<Client, usize>>,
    trusted_proxies: TrustedProxies,
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimits").finish_non_exhaustive()
    }
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            own: OwnRoute::all(route_names::table()),
            reads: Limiter::new("reads", settings.reads),
            writes: Limiter::new("writes", settings.writes),
            signups: Limiter::new("signups", settings.signups),
            logins: Limiter::new("logins", settings.logins),
            login_failures: FailureCount::new("login_failures", settings.login_failures),
            login_failures_per_account: FailureCount::new(
                "login_failures_per_account",
                settings.login_failures_per_account,
            ),
            comments: Limiter::new("comments", settings.comments),
            follows: Limiter::new("follows", settings.follows),
            max_waiting_reads: settings.max_waiting_reads,
            waiting_reads: Mutex::new(HashMap::new()),
            trusted_proxies: settings.trusted_proxies.clone(),
        }
    }

    /// Forgets clients that have been idle long enough to have a full budget
    /// again, so memory follows active clients, not every address ever seen.
    pub fn forget_idle_clients(&self) {
        for limiter in [&self.reads, &self.writes, &self.signups, &self.logins] {
            limiter.state.retain_recent();
            limiter.state.shrink_to_fit();
        }
        self.login_failures.forget_idle();
        self.login_failures_per_account.forget_idle();
        for limiter in [&self.comments, &self.follows] {
            limiter.state.retain_recent();
            limiter.state.shrink_to_fit();
        }
    }

    /// The failed-login budgets of logins from `client`, for the login to
    /// spend once it knows the account.
    pub(crate) fn login_failures_from(&self, client: Option<IpAddr>) -> LoginFailuresFrom<'_> {
        LoginFailuresFrom {
            limits: self,
            client,
        }
    }

    /// Who may write `X-Forwarded-For`.
    pub(crate) fn trusted_proxies(&self) -> &TrustedProxies {
        &self.trusted_proxies
    }

    /// Checks `member`'s comment budget; called by the handler that posts.
    pub(crate) fn check_comment(&self, member: uuid::Uuid) -> Result<(), ApiError> {
        Self::spend(&self.comments, member, "too many comments in a short time")
    }

    /// Checks `member`'s follow budget; called by the handlers that follow.
    pub(crate) fn check_follow(&self, member: uuid::Uuid) -> Result<(), ApiError> {
        Self::spend(&self.follows, member, "too many follows in a short time")
    }

    fn spend(
        limiter: &Limiter<uuid::Uuid>,
        member: uuid::Uuid,
        detail: &str,
    ) -> Result<(), ApiError> {
        let verdict = limiter.check(&member);
        match verdict.retry_after {
            None => Ok(()),
            Some(retry_after) => Err(ApiError::too_many_requests(
                format!("{detail}; wait before trying again"),
                retry_after,
                &verdict.policy,
            )),
        }
    }

    fn classify(&self, request: &Request) -> Option<&Limiter<Client>> {
        let (method, path) = (request.method(), request.uri().path());
        for own in self.own.iter().filter(|own| own.path == path) {
            match own.budget {
                // By path alone: these paths spend nothing, whatever the method.
                OwnBudget::Exempt => return None,
                OwnBudget::Logins if own.method == method => return Some(&self.logins),
                OwnBudget::Signups if own.method == method => return Some(&self.signups),
                OwnBudget::Logins | OwnBudget::Signups => {}
            }
        }
        Some(match *method {
            Method::GET | Method::HEAD | Method::OPTIONS => &self.reads,
            _ => &self.writes,
        })
    }

    fn hold_waiting_read(self: &Arc<Self>, client: Client) -> Option<WaitingRead> {
        let mut waiting = self.waiting_reads.lock().unwrap_or_else(|p| p.into_inner());
        let count = waiting.entry(client).or_default();
        if *count >= self.max_waiting_reads {
            return None;
        }
        *count += 1;
        Some(WaitingRead {
            limits: self.clone(),
            client,
        })
    }
}

/// A slot for one long-polling read, given back when the request ends.
pub(crate) struct WaitingRead {
    limits: Arc<RateLimits>,
    client: Client,
}

impl Drop for WaitingRead {
    fn drop(&mut self) {
        let mut waiting = self
            .limits
            .waiting_reads
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = waiting.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                waiting.remove(&self.client);
            }
        }
    }
}

fn waits_for_position(request: &Request) -> bool {
    request.headers().contains_key(&MIN_POSITION)
        || request
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|pair| pair.starts_with("min_position=")))
}

/// The rate-limit decision for one request.
pub(crate) enum Admission {
    /// Not subject to a budget (health checks).
    Exempt,
    /// Within budget: the headers to add, and the long-poll slot to hold.
    Admitted(Verdict, &'static str, Option<WaitingRead>),
    /// Over budget: the 429 to send instead.
    Refused(Response),
}

impl RateLimits {
    /// Decides whether `request` may proceed, charging its client's budget.
    pub(crate) fn admit(self: &Arc<Self>, request: &Request) -> Admission {
        let Some(limiter) = self.classify(request) else {
            return Admission::Exempt;
        };
        let user = request
            .headers()
            .get(&AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|token| {
                let sessions = request.data::<Sessions>()?;
                sessions.tokens().verify(token.trim()).ok()
            });
        // Sign-ups and logins are budgeted per address even with a token.
        let per_address = matches!(limiter.name, "signups" | "logins");
        let client = match (&user, per_address) {
            (Some(user), false) => Client::User(user.user_id),
            _ => Client::Address(self.trusted_proxies.client_of(request)),
        };

        let verdict = limiter.check(&client);
        if let Some(retry_after) = verdict.retry_after {
            let refused = ApiError::too_many_requests(
                format!("the {} budget for this client is used up", limiter.name),
                retry_after,
                &verdict.policy,
            );
            return Admission::Refused(refused.into_response());
        }
        let slot = if waits_for_position(request) {
            let Some(slot) = self.hold_waiting_read(client) else {
                let refused = ApiError::too_many_requests(
                    "too many reads waiting for a position at once from this client",
                    1,
                    &verdict.policy,
                );
                return Admission::Refused(refused.into_response());
            };
            Some(slot)
        } else {
            None
        };
        Admission::Admitted(verdict, limiter.name, slot)
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
    fn operations_with_budgets_of_their_own_are_found_by_name() {
        let limits = RateLimits::new(&RateLimitSettings::default());
        let budget = |method: Method, path: &'static str| {
            let request = Request::builder()
                .method(method)
                .uri(poem::http::Uri::from_static(path))
                .finish();
            limits.classify(&request).map(|limiter| limiter.name)
        };
        assert_eq!(budget(Method::POST, "/v1/sessions"), Some("logins"));
        assert_eq!(budget(Method::DELETE, "/v1/sessions"), Some("writes"));
        assert_eq!(budget(Method::POST, "/v1/users"), Some("signups"));
        assert_eq!(budget(Method::GET, "/v1/users/ada"), Some("reads"));
        assert_eq!(budget(Method::GET, "/healthz"), None);
        assert_eq!(budget(Method::GET, "/readyz"), None);
        // Metrics are not served here (the operator address has them).
        assert_eq!(budget(Method::GET, "/metrics"), Some("reads"));
    }

    #[test]
    fn budgets_parse_from_configuration() {
        let budget: Budget = "600/min".parse().unwrap();
        assert_eq!(budget.count.get(), 600);
        assert_eq!(budget.period, Duration::from_secs(60));
        assert!("0/min".parse::<Budget>().is_err());
        assert!("ten/s".parse::<Budget>().is_err());
        assert!("5/day".parse::<Budget>().is_err());
    }

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
