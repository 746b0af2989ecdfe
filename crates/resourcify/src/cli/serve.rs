//! `serve`'s arguments, from the command line or the environment, and how
//! they become a node's settings.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use resourcify_api::{ApiSettings, Budget, RateLimitSettings, TrustedProxy};
use resourcify_app::{AppSettings, MIN_SECRET_BYTES, ReplicaSettings, TokenSecret};
use resourcify_domain::Secret;
use resourcify_eventstore::Namespace;
use resourcify_news::IngesterSettings;
use resourcify_news::fetch::{AllowList, FetchSettings};
use resourcify_readmodel::PoolSettings;
use sqlx::postgres::PgConnectOptions;

use crate::{NodeSettings, Roles};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    All,
    Api,
    Projector,
    /// The news ingester alone.
    Ingest,
}

/// Also parsed on its own (from the environment) when no subcommand is given.
#[derive(Debug, Parser)]
pub(super) struct ServeArgs {
    /// Address the API listens on.
    #[arg(long, env = "RESOURCIFY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// The operator address, where `/metrics` is served apart from the API
    /// (by every role); `off` serves none. Keep it off the public network.
    #[arg(
        long,
        env = "RESOURCIFY_METRICS_LISTEN",
        value_name = "ADDR|off",
        default_value = "127.0.0.1:9464"
    )]
    metrics_listen: OperatorListen,

    /// Run only part of the system on this node.
    #[arg(long, env = "RESOURCIFY_ROLE", value_enum, default_value_t = Role::All)]
    role: Role,

    /// Do not apply pending migrations at start.
    #[arg(long, env = "RESOURCIFY_NO_MIGRATE")]
    no_migrate: bool,

    /// HMAC secret that signs access and refresh tokens, at least 32 bytes
    /// (`openssl rand -base64 48`). Required where the API runs; `just run`
    /// makes one for local use in `.env`.
    #[arg(long, env = "RESOURCIFY_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<Secret>,

    /// The signing secret before a rotation: tokens it signed keep
    /// verifying while it is set. Keep it for one token lifetime, then drop it.
    #[arg(long, env = "RESOURCIFY_JWT_PREVIOUS_SECRET", hide_env_values = true)]
    jwt_previous_secret: Option<Secret>,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "RESOURCIFY_TOKEN_TTL_SECS", default_value_t = 900)]
    token_ttl_secs: u64,

    /// How long a session lasts without a refresh, in days.
    #[arg(long, env = "RESOURCIFY_SESSION_TTL_DAYS", default_value_t = 30)]
    session_ttl_days: u32,

    /// Longest a read waits for `X-Resourcify-Min-Position`, in milliseconds.
    #[arg(long, env = "RESOURCIFY_READ_WAIT_MS", default_value_t = 5000)]
    read_wait_ms: u64,

    /// Postgres statement_timeout for every pool, in milliseconds.
    #[arg(long, env = "RESOURCIFY_STATEMENT_TIMEOUT_MS", default_value_t = 5000)]
    statement_timeout_ms: u64,

    /// Postgres lock_timeout for every pool, in milliseconds.
    #[arg(long, env = "RESOURCIFY_LOCK_TIMEOUT_MS", default_value_t = 2000)]
    lock_timeout_ms: u64,

    /// Postgres idle_in_transaction_session_timeout for every pool, in milliseconds.
    #[arg(
        long,
        env = "RESOURCIFY_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        default_value_t = 30000
    )]
    idle_in_transaction_timeout_ms: u64,

    /// Connections in the API's pool.
    #[arg(long, env = "RESOURCIFY_API_POOL_SIZE", default_value_t = 10)]
    api_pool_size: u32,

    /// Connections in the projectors' pool (separate, so neither starves the other).
    #[arg(long, env = "RESOURCIFY_PROJECTOR_POOL_SIZE", default_value_t = 4)]
    projector_pool_size: u32,

    /// Named queries slower than this are counted and logged as slow, in milliseconds.
    #[arg(long, env = "RESOURCIFY_SLOW_QUERY_MS", default_value_t = 250)]
    slow_query_ms: u64,

    /// Active queries older than this are reported as long-running, in milliseconds.
    #[arg(long, env = "RESOURCIFY_LONG_RUNNING_QUERY_MS", default_value_t = 5000)]
    long_running_query_ms: u64,

    /// /readyz fails while a projection is more than this many events behind.
    #[arg(long, env = "RESOURCIFY_READY_MAX_LAG", default_value_t = 1000)]
    ready_max_lag: u64,

    /// The least karma (votes received on one's resources and comments)
    /// with which a member may flag content.
    #[arg(
        long,
        env = "RESOURCIFY_MIN_KARMA_TO_FLAG",
        default_value_t = resourcify_domain::karma::DEFAULT_MIN_KARMA_TO_FLAG,
        allow_negative_numbers = true
    )]
    min_karma_to_flag: i64,

    /// Distinct flags that hold a resource or comment for review.
    #[arg(
        long,
        env = "RESOURCIFY_FLAG_THRESHOLD",
        default_value_t = resourcify_domain::flag::DEFAULT_FLAG_THRESHOLD,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    flag_threshold: u32,

    /// Read budget per client, e.g. 1200/min.
    #[arg(long, env = "RESOURCIFY_RATE_READS", default_value = "1200/min")]
    rate_reads: Budget,

    /// Write budget per client.
    #[arg(long, env = "RESOURCIFY_RATE_WRITES", default_value = "120/min")]
    rate_writes: Budget,

    /// Sign-ups per client address.
    #[arg(long, env = "RESOURCIFY_RATE_SIGNUPS", default_value = "10/h")]
    rate_signups: Budget,

    /// Login attempts per client address.
    #[arg(long, env = "RESOURCIFY_RATE_LOGINS", default_value = "30/min")]
    rate_logins: Budget,

    /// Failed logins per account and client address (by username or
    /// e-mail alike); a success costs nothing.
    #[arg(long, env = "RESOURCIFY_RATE_LOGIN_FAILURES", default_value = "10/h")]
    rate_login_failures: Budget,

    /// Failed logins per account from all addresses together.
    #[arg(
        long,
        env = "RESOURCIFY_RATE_LOGIN_FAILURES_PER_ACCOUNT",
        default_value = "100/h"
    )]
    rate_login_failures_per_account: Budget,

    /// Comments per member (on top of writes), e.g. `10/min`.
    #[arg(long, env = "RESOURCIFY_RATE_COMMENTS", default_value = "10/min")]
    rate_comments: Budget,

    /// Follows of tags and members per member (on top of writes).
    #[arg(long, env = "RESOURCIFY_RATE_FOLLOWS", default_value = "30/min")]
    rate_follows: Budget,

    /// Reads waiting for a position that one client may hold open at once.
    #[arg(long, env = "RESOURCIFY_MAX_WAITING_READS", default_value_t = 16)]
    max_waiting_reads: usize,

    /// Proxies whose X-Forwarded-For is believed (comma-separated
    /// addresses or networks, e.g. `10.0.0.0/8`); none by default.
    #[arg(long, env = "RESOURCIFY_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<TrustedProxy>,

    /// Larger request bodies are refused with 413.
    #[arg(long, env = "RESOURCIFY_MAX_BODY_BYTES", default_value_t = 65536)]
    max_body_bytes: usize,

    /// Open event streams this node serves at most (503 beyond).
    #[arg(long, env = "RESOURCIFY_MAX_STREAMS", default_value_t = 10_000)]
    max_streams: usize,

    /// Open event streams per client address (429 beyond).
    #[arg(long, env = "RESOURCIFY_MAX_STREAMS_PER_CLIENT", default_value_t = 8)]
    max_streams_per_client: usize,

    /// Seconds a connection may send and receive nothing before it is
    /// closed (a request whose headers never end holds a socket no longer);
    /// at least the read wait and a second.
    #[arg(
        long,
        env = "RESOURCIFY_IDLE_CONNECTION_TIMEOUT_SECS",
        default_value_t = 60
    )]
    idle_connection_timeout_secs: u64,

    /// Origins whose browser pages may call the API (CORS), comma-separated,
    /// e.g. `https://app.example`; empty: none.
    #[arg(long, env = "RESOURCIFY_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,

    /// Where clients reach the API, e.g. `https://api.example.org`: the
    /// absolute links of the Atom and RSS feeds. Default: `http://` and the
    /// listen address. A request's `Host` is never used.
    #[arg(long, env = "RESOURCIFY_PUBLIC_URL")]
    public_url: Option<String>,

    /// Hosts news sources may be fetched from even though they resolve to
    /// loopback or private addresses (comma-separated `host[:port]`).
    #[arg(long, env = "RESOURCIFY_NEWS_ALLOW_HOSTS", default_value = "")]
    news_allow_hosts: String,

    /// Longest a news source fetch may take, body included, in milliseconds.
    #[arg(
        long,
        env = "RESOURCIFY_NEWS_FETCH_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    news_fetch_timeout_ms: u64,

    /// Larger feeds are refused.
    #[arg(long, env = "RESOURCIFY_NEWS_MAX_FEED_BYTES", default_value_t = 2 * 1024 * 1024)]
    news_max_feed_bytes: usize,

    /// How often the ingester looks for due news sources, in milliseconds.
    #[arg(long, env = "RESOURCIFY_NEWS_POLL_TICK_MS", default_value_t = 5_000)]
    news_poll_tick_ms: u64,

    /// Streaming replicas of the database that API nodes read views from
    /// (comma-separated PostgreSQL URLs); none: reads go to DATABASE_URL.
    /// Projectors, migrations and replays always use DATABASE_URL.
    #[arg(
        long,
        env = "RESOURCIFY_READ_DATABASE_URL",
        value_delimiter = ',',
        hide_env_values = true
    )]
    read_database_url: Vec<Secret>,

    /// A read replica that has not applied, this long after, what the
    /// primary had applied leaves the rotation until it catches up, in
    /// milliseconds.
    #[arg(
        long,
        env = "RESOURCIFY_READ_REPLICA_MAX_LAG_MS",
        default_value_t = 2000
    )]
    read_replica_max_lag_ms: u64,

    /// Stream and bucket replicas (3 on a JetStream cluster).
    #[arg(long, env = "RESOURCIFY_REPLICAS", default_value_t = 1)]
    replicas: usize,

    /// Benchmarks only: serve without request ids, metrics and rate limits,
    /// to measure what they cost.
    #[arg(long, env = "RESOURCIFY_BENCH_BARE", hide = true)]
    bench_bare: bool,
}

impl ServeArgs {
    fn roles(&self) -> Roles {
        match self.role {
            Role::All => Roles::ALL,
            Role::Api => Roles::API_ONLY,
            Role::Projector => Roles::PROJECTOR_ONLY,
            Role::Ingest => Roles::INGEST_ONLY,
        }
    }
}

/// An address to listen on, or `off` (or nothing) for none.
#[derive(Debug, Clone, Copy)]
struct OperatorListen(Option<SocketAddr>);

impl FromStr for OperatorListen {
    type Err = std::net::AddrParseError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "" | "off" => Ok(Self(None)),
            address => address.parse().map(|a| Self(Some(a))),
        }
    }
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self::parse_from(["serve"])
    }
}

impl ServeArgs {
    /// The settings of a node that serves as these arguments say.
    pub(super) fn node_settings(
        &self,
        database: PgConnectOptions,
        nats_url: &str,
        namespace: Namespace,
    ) -> anyhow::Result<NodeSettings> {
        let args = self;
        let roles = args.roles();
        let (secret, previous_secret) = signing_secrets(args, roles.api)?;
        let pool = PoolSettings {
            max_connections: args.api_pool_size,
            statement_timeout: Duration::from_millis(args.statement_timeout_ms),
            lock_timeout: Duration::from_millis(args.lock_timeout_ms),
            idle_in_transaction_timeout: Duration::from_millis(args.idle_in_transaction_timeout_ms),
            ..PoolSettings::default()
        };
        let read_databases = args
            .read_database_url
            .iter()
            // An empty variable (as `.env.example` has it) names none.
            .filter(|url| !url.expose().trim().is_empty())
            .map(|url| PgConnectOptions::from_str(url.expose()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                anyhow::anyhow!(
                    "RESOURCIFY_READ_DATABASE_URL holds a URL that is not a PostgreSQL URL"
                )
            })?;
        Ok(NodeSettings {
            database,
            read_databases,
            read_replicas: ReplicaSettings {
                max_lag: Duration::from_millis(args.read_replica_max_lag_ms),
                ..ReplicaSettings::default()
            },
            nats_url: nats_url.to_owned(),
            listen: args.listen,
            metrics_listen: args.metrics_listen.0,
            namespace,
            replicas: args.replicas,
            roles,
            migrate: !args.no_migrate,
            app: AppSettings {
                token_ttl: Duration::from_secs(args.token_ttl_secs),
                session_ttl: chrono::TimeDelta::days(args.session_ttl_days.into()),
                read_wait: Duration::from_millis(args.read_wait_ms),
                long_running_query: Duration::from_millis(args.long_running_query_ms),
                ready_max_lag_events: args.ready_max_lag,
                karma: resourcify_domain::karma::KarmaRules {
                    min_karma_to_flag: args.min_karma_to_flag,
                },
                flag_threshold: args.flag_threshold,
                previous_token_secret: previous_secret,
                ..AppSettings::with_secret(secret)
            },
            api: ApiSettings {
                rate_limits: RateLimitSettings {
                    reads: args.rate_reads,
                    writes: args.rate_writes,
                    signups: args.rate_signups,
                    logins: args.rate_logins,
                    login_failures: args.rate_login_failures,
                    login_failures_per_account: args.rate_login_failures_per_account,
                    comments: args.rate_comments,
                    follows: args.rate_follows,
                    max_waiting_reads: args.max_waiting_reads,
                    trusted_proxies: args.trusted_proxies.clone().into(),
                },
                max_body_bytes: args.max_body_bytes,
                max_streams: args.max_streams,
                max_streams_per_client: args.max_streams_per_client,
                idle_connection_timeout: Duration::from_secs(args.idle_connection_timeout_secs),
                cors_origins: args.cors_origins.clone(),
                public_url: public_url(args)?,
                bare: args.bench_bare,
            },
            slow_query: Duration::from_millis(args.slow_query_ms),
            // A request that cannot have a connection within a second is
            // better answered 503 than held: Postgres is away or overrun.
            api_pool: PoolSettings {
                acquire_timeout: resourcify_app::READ_WITHIN,
                ..pool.clone()
            },
            projector_pool: PoolSettings {
                max_connections: args.projector_pool_size,
                ..pool
            },
            ingester: IngesterSettings {
                tick: Duration::from_millis(args.news_poll_tick_ms),
                ..IngesterSettings::default()
            },
            news_fetch: FetchSettings {
                timeout: Duration::from_millis(args.news_fetch_timeout_ms),
                max_body_bytes: args.news_max_feed_bytes,
                allow_hosts: AllowList::parse(&args.news_allow_hosts)
                    .map_err(anyhow::Error::msg)?,
                ..FetchSettings::default()
            },
        })
    }
}

/// The configured public URL (an http(s) origin, no path), or one made of
/// the listen address.
fn public_url(args: &ServeArgs) -> anyhow::Result<String> {
    let Some(raw) = args
        .public_url
        .as_deref()
        .filter(|raw| !raw.trim().is_empty())
    else {
        return Ok(format!("http://{}", args.listen));
    };
    let url = url::Url::parse(raw.trim())
        .map_err(|e| anyhow::anyhow!("RESOURCIFY_PUBLIC_URL is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        anyhow::bail!("RESOURCIFY_PUBLIC_URL must be an http(s) URL with a host");
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The signing secrets: required, and long enough, where the API runs
/// (it signs and checks tokens); elsewhere a random one stands in, since
/// nothing is signed there.
fn signing_secrets(
    args: &ServeArgs,
    api: bool,
) -> anyhow::Result<(TokenSecret, Option<TokenSecret>)> {
    let previous = (args.jwt_previous_secret.as_ref())
        .map(|raw| TokenSecret::parse(raw.expose(), "RESOURCIFY_JWT_PREVIOUS_SECRET"))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let current = match args.jwt_secret.as_ref() {
        Some(raw) => {
            TokenSecret::parse(raw.expose(), "RESOURCIFY_JWT_SECRET").map_err(anyhow::Error::msg)?
        }
        None if api => anyhow::bail!(
            "RESOURCIFY_JWT_SECRET is not set: the API signs tokens with it, and \
             refuses to start without one of at least {MIN_SECRET_BYTES} bytes \
             (`openssl rand -base64 48`; `just run` makes one for local use in .env)"
        ),
        None => TokenSecret::new(uuid::Uuid::new_v4().to_string()),
    };
    Ok((current, previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_settings_are_read_as_the_other_settings() {
        if std::env::var_os("RESOURCIFY_MIN_KARMA_TO_FLAG").is_none() {
            let default = resourcify_domain::karma::DEFAULT_MIN_KARMA_TO_FLAG;
            assert_eq!(ServeArgs::default().min_karma_to_flag, default);
        }
        if std::env::var_os("RESOURCIFY_FLAG_THRESHOLD").is_none() {
            let default = resourcify_domain::flag::DEFAULT_FLAG_THRESHOLD;
            assert_eq!(ServeArgs::default().flag_threshold, default);
        }
        let set = ServeArgs::parse_from(["serve", "--min-karma-to-flag", "-3"]);
        assert_eq!(set.min_karma_to_flag, -3);
        let set = ServeArgs::parse_from(["serve", "--flag-threshold", "5"]);
        assert_eq!(set.flag_threshold, 5);
        let none = ServeArgs::try_parse_from(["serve", "--flag-threshold", "0"]);
        assert!(
            none.is_err(),
            "a threshold of 0 would hold what nobody flagged"
        );
    }
}
