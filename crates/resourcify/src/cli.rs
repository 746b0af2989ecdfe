//! Command-line and environment configuration, read once here and handed
//! down as plain settings.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use resourcify::{NodeSettings, Roles};
use resourcify_app::{AppSettings, TokenSecret};
use resourcify_eventstore::Namespace;
use resourcify_readmodel::PoolSettings;
use sqlx::postgres::PgConnectOptions;

const DEV_JWT_SECRET: &str = "resourcify-development-secret-do-not-use-in-production";

#[derive(Debug, Parser)]
#[command(
    name = "resourcify",
    version,
    about = "Tech resources and news, event-sourced"
)]
pub struct Cli {
    /// PostgreSQL for the read models.
    #[arg(
        long,
        env = "DATABASE_URL",
        global = true,
        default_value = "postgres://postgres@127.0.0.1:5432/resourcify"
    )]
    database_url: String,

    /// NATS server with JetStream.
    #[arg(
        long,
        env = "NATS_URL",
        global = true,
        default_value = "nats://127.0.0.1:4222"
    )]
    nats_url: String,

    /// Prefix of every subject, stream and bucket; instances with different
    /// namespaces never see each other's events.
    #[arg(
        long,
        env = "RESOURCIFY_NAMESPACE",
        global = true,
        default_value = "resourcify"
    )]
    namespace: String,

    /// Log format.
    #[arg(long, env = "RESOURCIFY_LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and the projectors (the default).
    Serve(ServeArgs),
    /// Create the database if needed and apply pending migrations.
    Migrate,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    All,
    Api,
    Projector,
}

/// Also parsed on its own (from the environment) when no subcommand is given.
#[derive(Debug, Parser)]
struct ServeArgs {
    /// Address the API listens on.
    #[arg(long, env = "RESOURCIFY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Run only part of the system on this node.
    #[arg(long, env = "RESOURCIFY_ROLE", value_enum, default_value_t = Role::All)]
    role: Role,

    /// Do not apply pending migrations at start.
    #[arg(long, env = "RESOURCIFY_NO_MIGRATE")]
    no_migrate: bool,

    /// HMAC secret for access tokens.
    #[arg(long, env = "RESOURCIFY_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "RESOURCIFY_TOKEN_TTL_SECS", default_value_t = 3600)]
    token_ttl_secs: u64,

    /// Longest a read waits for `X-Resourcify-Min-Position`, in milliseconds.
    #[arg(long, env = "RESOURCIFY_READ_WAIT_MS", default_value_t = 5000)]
    read_wait_ms: u64,

    /// Postgres statement_timeout for every pool, in milliseconds.
    #[arg(long, env = "RESOURCIFY_STATEMENT_TIMEOUT_MS", default_value_t = 5000)]
    statement_timeout_ms: u64,

    /// Stream and bucket replicas (3 on a JetStream cluster).
    #[arg(long, env = "RESOURCIFY_REPLICAS", default_value_t = 1)]
    replicas: usize,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self::parse_from(["serve"])
    }
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let database = PgConnectOptions::from_str(&self.database_url)
            .context("DATABASE_URL is not a PostgreSQL URL")?;
        match self.command {
            Some(Command::Migrate) => {
                resourcify::migrate(&database).await?;
                println!("migrations applied");
                Ok(())
            }
            Some(Command::Serve(ref args)) => self.serve(database, args).await,
            None => self.serve(database, &ServeArgs::default()).await,
        }
    }

    async fn serve(&self, database: PgConnectOptions, args: &ServeArgs) -> anyhow::Result<()> {
        let namespace = Namespace::parse(&self.namespace).map_err(anyhow::Error::msg)?;
        let secret = args.jwt_secret.clone().unwrap_or_else(|| {
            tracing::warn!(
                "RESOURCIFY_JWT_SECRET is not set: using the development secret; \
                 anyone can forge tokens for this server"
            );
            DEV_JWT_SECRET.to_owned()
        });
        let pool = PoolSettings {
            statement_timeout: Duration::from_millis(args.statement_timeout_ms),
            ..PoolSettings::default()
        };
        let settings = NodeSettings {
            database,
            nats_url: self.nats_url.clone(),
            listen: args.listen,
            namespace,
            replicas: args.replicas,
            roles: match args.role {
                Role::All => Roles::ALL,
                Role::Api => Roles {
                    api: true,
                    projector: false,
                },
                Role::Projector => Roles {
                    api: false,
                    projector: true,
                },
            },
            migrate: !args.no_migrate,
            app: AppSettings {
                token_secret: TokenSecret::new(secret),
                token_ttl: Duration::from_secs(args.token_ttl_secs),
                read_wait: Duration::from_millis(args.read_wait_ms),
            },
            api_pool: pool.clone(),
            projector_pool: PoolSettings {
                max_connections: 4,
                ..pool
            },
        };
        let mut node = resourcify::start(settings).await?;
        tokio::signal::ctrl_c().await?;
        tracing::info!("shutting down");
        node.stop();
        node.wait().await;
        Ok(())
    }
}

pub fn init_tracing(format: &LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
