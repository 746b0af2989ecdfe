//! What the application layer is told by the binary, read once at start.

use std::time::Duration;

use resourcify_domain::flag::DEFAULT_FLAG_THRESHOLD;
use resourcify_domain::karma::KarmaRules;

use crate::keys::TokenSecret;

/// Settings the application layer needs, read once by the binary.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Signs tokens, and keys the fingerprints of idempotent requests.
    pub token_secret: TokenSecret,
    /// The signing secret before a rotation: tokens it signed keep
    /// verifying while it is set (keep it one token lifetime).
    pub previous_token_secret: Option<TokenSecret>,
    /// How long an access token is good for.
    pub token_ttl: Duration,
    /// How long a session lasts without a refresh.
    pub session_ttl: chrono::TimeDelta,
    /// How long a read waits for a projection to reach a requested position.
    pub read_wait: Duration,
    /// Active queries older than this are reported as long-running.
    pub long_running_query: Duration,
    /// `/readyz` fails while any projection is more events behind than this.
    pub ready_max_lag_events: u64,
    /// How long a cached view lives if no notice invalidates it first.
    pub cache_ttl: Duration,
    /// How many views each cache holds at most.
    pub cache_capacity: u64,
    /// How many resource changes a stream subscriber may fall behind
    /// before it is disconnected.
    pub stream_buffer: usize,
    /// What karma allows (`RESOURCIFY_MIN_KARMA_TO_FLAG`): flagging asks it.
    pub karma: KarmaRules,
    /// Distinct flags that hold a resource or comment for review
    /// (`RESOURCIFY_FLAG_THRESHOLD`); each flag carries the one in force.
    pub flag_threshold: u32,
}

impl AppSettings {
    /// Settings for development and tests, with the given token secret.
    pub fn with_secret(token_secret: TokenSecret) -> Self {
        Self {
            token_secret,
            previous_token_secret: None,
            token_ttl: Duration::from_secs(900),
            session_ttl: chrono::TimeDelta::days(30),
            read_wait: Duration::from_secs(5),
            long_running_query: Duration::from_secs(5),
            ready_max_lag_events: 1_000,
            cache_ttl: Duration::from_secs(60),
            cache_capacity: 100_000,
            stream_buffer: 1_024,
            karma: KarmaRules::default(),
            flag_threshold: DEFAULT_FLAG_THRESHOLD,
        }
    }
}
