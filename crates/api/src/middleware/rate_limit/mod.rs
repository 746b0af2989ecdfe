//! Per-client rate limits (GCRA, via `governor`) with separate budgets for
//! reads, writes, sign-ups and login attempts, a cap on how many
//! long-polling reads one client may hold open, and the count of failed
//! logins per account.
//!
//! A client is its user id when it presents a valid token, else its IP
//! address as [`TrustedProxies::client_of`] finds it, so nobody can pick a
//! fresh identity per request.

mod failures;
mod limiter;
mod settings;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use poem::http::header::AUTHORIZATION;
use poem::http::{HeaderName, Method};
use poem::{IntoResponse, Request, Response};
use resourcify_app::{LoginAccount, Sessions};

use crate::ApiError;
use crate::client_address::TrustedProxies;
use crate::route_names::{self, RouteNames};

use failures::FailureCount;
pub(crate) use failures::LoginFailuresFrom;
use limiter::Limiter;
pub(crate) use limiter::{Verdict, add_headers};
pub use settings::{Budget, RateLimitSettings};

static MIN_POSITION: HeaderName = HeaderName::from_static("x-resourcify-min-position");

/// Who a budget belongs to. Small and `Copy`, so a check allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    User(uuid::Uuid),
    Address(Option<IpAddr>),
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

#[cfg(test)]
mod tests {
    use poem::Request;
    use poem::http::Method;

    use super::*;

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
}
