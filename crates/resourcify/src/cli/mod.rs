//! Command-line and environment configuration, read once here and handed
//! down as plain settings: the commands and their dispatch here, `serve`'s
//! arguments and their settings in `serve.rs`.

mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use resourcify_domain::Secret;
use resourcify_eventstore::{Namespace, RestoreOptions};
use resourcify_projector::{ReplayPace, ReplaySettings};
use sqlx::postgres::PgConnectOptions;

use crate::operator;
use serve::ServeArgs;

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM (what orchestrators
/// send); the handlers are in place when this returns.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[derive(Debug, Parser)]
#[command(
    name = "resourcify",
    version,
    about = "Tech resources and news, event-sourced"
)]
pub struct Cli {
    /// PostgreSQL for the read models.
    // The URL may hold a password: help shows the variable, not its value.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        global = true,
        default_value = "postgres://postgres@127.0.0.1:5432/resourcify"
    )]
    database_url: Secret,

    /// NATS server with JetStream.
    #[arg(
        long,
        env = "NATS_URL",
        hide_env_values = true,
        global = true,
        default_value = "nats://127.0.0.1:4222"
    )]
    nats_url: Secret,

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

    /// More log output on stderr, a level per -v. Operator commands print
    /// their answer and warnings only (-v info, -vv debug); `serve` logs
    /// from info (-v debug). RUST_LOG, when set, decides instead.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,

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
    /// Run the API, the projectors and the news ingester (the default).
    Serve(Box<ServeArgs>),
    /// Create the database if needed and apply pending migrations.
    Migrate,
    /// Show each projection's checkpoint, the head of the log, lag and dead letters.
    Status,
    /// Inspect, retry or skip events that a projection could not apply.
    DeadLetters {
        #[command(subcommand)]
        action: DeadLetterAction,
    },
    /// Rebuild a projection's tables (or every projection's) from the first
    /// event, beside the live ones, then switch over in one transaction.
    /// Reads are served throughout; an interrupted replay resumes.
    Replay {
        /// The projection: users, resources, comments, bookmarks, news,
        /// history, sites, flags, notifications.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        projection: Option<String>,
        /// Every projection, from one reading of the log.
        #[arg(long)]
        all: bool,
        /// Start from the first event even if an interrupted replay left progress.
        #[arg(long)]
        restart: bool,
        /// Write every projection at once, as fast as the database goes (for
        /// a rebuild with no traffic). By default one projection writes at a
        /// time, resting between batches, at a lower CPU priority: the live
        /// reads keep their latency.
        #[arg(long)]
        full_speed: bool,
        /// Serve `/metrics` on this address while replaying (position,
        /// events left and ETA per projection), e.g. 127.0.0.1:9464.
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<SocketAddr>,
    },
    /// Operator tasks: staff roles (recorded as events like any other
    /// change), erasure, the reservations, backup and restore.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Give a user a role (admin by default).
    Grant {
        username: String,
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// Take a role from a user (admin by default).
    Revoke {
        username: String,
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// Finish erasing a deleted member (if `DELETE /v1/me` was cut short):
    /// destroy their key, erase their events written in clear, free their
    /// names. Safe to repeat.
    Erase { user_id: uuid::Uuid },
    /// Claim again, from the log, every name a live account, resource or
    /// news item holds (after the reservation buckets were lost). Names
    /// held by someone else are reported, not changed.
    RebuildReservations,
    /// Copy the event stream and every key-value bucket (JetStream's own
    /// snapshots) into DIR, new or empty, with a manifest. The views need
    /// no backup: they are rebuilt from the log.
    Backup {
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
    /// Put a backup made by `admin backup` back, with the same sequence
    /// numbers, headers and gaps. Stop every node of the namespace first.
    Restore {
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// Replace streams and buckets that hold messages (refused otherwise).
        #[arg(long)]
        force: bool,
        /// Restore with this many replicas instead of the backup's (3 into a cluster).
        #[arg(long)]
        replicas: Option<usize>,
    },
}

#[derive(Debug, Subcommand)]
enum DeadLetterAction {
    /// List dead letters.
    List {
        /// Only this projection's.
        #[arg(long)]
        projection: Option<String>,
    },
    /// Apply a dead letter again (after a fix); it is removed if it applies.
    Retry { projection: String, position: u64 },
    /// Give up on a dead letter: the event stays in the log, unprojected.
    Skip { projection: String, position: u64 },
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let database = PgConnectOptions::from_str(self.database_url.expose())
            .context("DATABASE_URL is not a PostgreSQL URL")?;
        let database = if self.serves() {
            database
        } else {
            operator::quiet(database)
        };
        match self.command {
            Some(Command::Migrate) => {
                crate::migrate(&database).await?;
                println!("migrations applied");
                Ok(())
            }
            Some(Command::Status) => {
                let namespace = self.namespace()?;
                operator::status(&database, self.nats_url.expose(), namespace).await
            }
            Some(Command::DeadLetters { ref action }) => match action {
                DeadLetterAction::List { projection } => {
                    operator::list_dead_letters(&database, projection.as_deref()).await
                }
                DeadLetterAction::Retry {
                    projection,
                    position,
                } => {
                    let namespace = self.namespace()?;
                    operator::retry(
                        &database,
                        self.nats_url.expose(),
                        namespace,
                        projection,
                        *position,
                    )
                    .await
                }
                DeadLetterAction::Skip {
                    projection,
                    position,
                } => operator::skip(&database, projection, *position).await,
            },
            Some(Command::Replay {
                ref projection,
                all: _,
                restart,
                full_speed,
                metrics_listen,
            }) => {
                let namespace = self.namespace()?;
                if let Some(listen) = metrics_listen {
                    let (bound, _) = crate::metrics_endpoint::serve_metrics(listen).await?;
                    eprintln!("replay metrics on http://{bound}/metrics");
                }
                operator::replay(
                    &database,
                    self.nats_url.expose(),
                    namespace,
                    projection.as_deref(),
                    ReplaySettings {
                        restart,
                        pace: if full_speed {
                            ReplayPace::FullSpeed
                        } else {
                            ReplayPace::Gentle
                        },
                        ..ReplaySettings::default()
                    },
                )
                .await
            }
            Some(Command::Admin { ref action }) => {
                let namespace = self.namespace()?;
                let (username, role, granted) = match action {
                    AdminAction::Grant { username, role } => (username, role, true),
                    AdminAction::Revoke { username, role } => (username, role, false),
                    AdminAction::Backup { to } => {
                        return crate::backup::backup(self.nats_url.expose(), namespace, to).await;
                    }
                    AdminAction::Restore {
                        from,
                        force,
                        replicas,
                    } => {
                        let options = RestoreOptions {
                            replace: *force,
                            replicas: *replicas,
                        };
                        return crate::backup::restore(
                            self.nats_url.expose(),
                            namespace,
                            from,
                            options,
                        )
                        .await;
                    }
                    AdminAction::RebuildReservations => {
                        return operator::rebuild_reservations(self.nats_url.expose(), namespace)
                            .await;
                    }
                    AdminAction::Erase { user_id } => {
                        return operator::erase(
                            &database,
                            self.nats_url.expose(),
                            namespace,
                            *user_id,
                        )
                        .await;
                    }
                };
                operator::set_role(
                    &database,
                    self.nats_url.expose(),
                    namespace,
                    username,
                    role,
                    granted,
                )
                .await
            }
            Some(Command::Serve(ref args)) => self.serve(database, args).await,
            None => self.serve(database, &ServeArgs::default()).await,
        }
    }

    async fn serve(&self, database: PgConnectOptions, args: &ServeArgs) -> anyhow::Result<()> {
        let settings = args.node_settings(database, self.nats_url.expose(), self.namespace()?)?;
        // Listened for before the node starts, so that an interrupt during
        // start-up is not the default one that kills the process.
        let stop_asked = stop_signal()?;
        let mut node = crate::start(settings).await?;
        stop_asked.await;
        tracing::info!("shutting down");
        node.stop();
        node.wait().await;
        Ok(())
    }
}

impl Cli {
    /// Starts logging on stderr at the level the command and `-v` ask for.
    pub fn init_tracing(&self) {
        const LEVELS: [&str; 4] = ["warn", "info", "debug", "trace"];
        // A server's log is its record; an operator wants the answer.
        let base = usize::from(self.serves());
        let level = LEVELS[(base + usize::from(self.verbose)).min(LEVELS.len() - 1)];
        crate::init_tracing_at(matches!(self.log_format, LogFormat::Json), level);
    }

    /// The namespace every command works in, checked.
    fn namespace(&self) -> anyhow::Result<Namespace> {
        Namespace::parse(&self.namespace).map_err(anyhow::Error::msg)
    }

    /// Whether this command is background work that must yield the CPU
    /// to live traffic: a replay at its default pace.
    pub fn yields_cpu(&self) -> bool {
        matches!(
            self.command,
            Some(Command::Replay {
                full_speed: false,
                ..
            })
        )
    }

    fn serves(&self) -> bool {
        matches!(self.command, None | Some(Command::Serve(_)))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    fn yields_cpu(args: &[&str]) -> bool {
        let args = std::iter::once("resourcify").chain(args.iter().copied());
        Cli::try_parse_from(args).expect("arguments").yields_cpu()
    }

    #[test]
    fn only_a_replay_at_its_default_pace_yields_the_cpu() {
        assert!(yields_cpu(&["replay", "--all"]));
        assert!(yields_cpu(&["replay", "resources"]));
        assert!(!yields_cpu(&["replay", "--all", "--full-speed"]));
        assert!(!yields_cpu(&["serve"]));
        assert!(!yields_cpu(&[]));
    }
}
