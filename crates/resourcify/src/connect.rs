//! Reaching PostgreSQL and NATS: within a few seconds, and with an error
//! that names the address that did not answer, never the URL (it may hold a
//! password).

use std::io;
use std::time::Duration;
use tokio::sync::watch;

use anyhow::anyhow;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::time::{Instant, sleep, timeout_at};

/// How long a command waits for PostgreSQL or NATS before it gives up. An
/// operator at a terminal should hear soon that an address is wrong; a node
/// started before its services is restarted by whatever started it.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Waits until PostgreSQL answers, for [`CONNECT_TIMEOUT`] at most. A
/// refused connection is tried again until then (the server may be
/// starting). Any answer from the server counts as reached, a refusal such
/// as a missing database or a wrong password too: what connects next says
/// so in the server's words.
pub async fn reach_postgres(options: &PgConnectOptions) -> anyhow::Result<()> {
    let service = Service::Postgres(options);
    retry_until_deadline(service, || async {
        match options.connect().await {
            Ok(connection) => {
                let _ = connection.close().await;
                Ok(())
            }
            Err(sqlx::Error::Database(_)) => Ok(()),
            Err(sqlx::Error::Io(error)) => Err(Failure::from_io(&error)),
            Err(other) => Err(Failure::Final(other.to_string())),
        }
    })
    .await
}

/// A pool for an operator command, once PostgreSQL has been reached: it
/// waits [`CONNECT_TIMEOUT`] for a connection, not sqlx's 30 s.
pub async fn operator_pool(options: &PgConnectOptions) -> anyhow::Result<PgPool> {
    reach_postgres(options).await?;
    let pool = PgPoolOptions::new()
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options.clone())
        .await?;
    Ok(pool)
}

/// Connects to NATS, trying again for `CONNECT_TIMEOUT` (3 s) while no server
/// answers. `urls` is one URL or a comma-separated list of a cluster's, as
/// every NATS client takes them: the client connects to any that answers,
/// learns the rest of the cluster from it, and reconnects by itself to
/// whichever server is up.
pub async fn connect_nats(urls: &str) -> anyhow::Result<async_nats::Client> {
    Ok(connect_nats_watched(urls).await?.0)
}

/// [`connect_nats`], with the connection's state as it changes (`true`:
/// connected), as the client reports it right after it changed.
pub async fn connect_nats_watched(
    urls: &str,
) -> anyhow::Result<(async_nats::Client, watch::Receiver<bool>)> {
    let (state, watched) = watch::channel(true);
    let service = Service::Nats(urls);
    let servers = nats_servers(urls).map_err(|why| {
        anyhow!(
            "cannot reach {} at {}: {why}",
            service.name(),
            service.address()
        )
    })?;
    retry_until_deadline(service, || async {
        let state = state.clone();
        async_nats::ConnectOptions::new()
            .event_callback(move |event| {
                let state = state.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => state.send_replace(true),
                        async_nats::Event::Disconnected => state.send_replace(false),
                        _ => return,
                    };
                }
            })
            .name("resourcify")
            // Back within half a second of a server's return: the client's
            // own back-off grows to seconds during a long outage.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((attempts as u64 * 100).min(500))
            })
            .connection_timeout(CONNECT_TIMEOUT)
            .connect(servers.as_slice())
            .await
            .map_err(|error| Failure::from_nats(&error))
    })
    .await
    .map(|client| (client, watched))
}

/// The servers of a comma-separated list of NATS URLs.
fn nats_servers(urls: &str) -> Result<Vec<async_nats::ServerAddr>, String> {
    let servers = urls
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            url.parse::<async_nats::ServerAddr>()
                .map_err(|_| "an address that is not a NATS URL".to_owned())
        })
        .collect::<Result<Vec<_>, _>>()?;
    if servers.is_empty() {
        return Err("no NATS URL given".to_owned());
    }
    Ok(servers)
}

/// Where PostgreSQL is, without user, password or database: for messages.
pub(crate) fn postgres_address(options: &PgConnectOptions) -> String {
    Service::Postgres(options).address()
}

/// Where NATS is, without the URL's credentials: for messages.
pub(crate) fn nats_address(url: &str) -> String {
    Service::Nats(url).address()
}

/// The service being reached, for the error that names it.
#[derive(Clone, Copy)]
enum Service<'a> {
    Postgres(&'a PgConnectOptions),
    Nats(&'a str),
}

impl Service<'_> {
    fn name(self) -> &'static str {
        match self {
            Self::Postgres(_) => "PostgreSQL",
            Self::Nats(_) => "NATS",
        }
    }

    /// `host:port` (or the socket path): what was dialled, without the
    /// user, password or database of the URL.
    fn address(self) -> String {
        match self {
            Self::Postgres(options) => match options.get_socket() {
                Some(socket) => socket.display().to_string(),
                None => host_port(options.get_host(), options.get_port()),
            },
            Self::Nats(urls) => match nats_servers(urls) {
                Ok(servers) => servers
                    .iter()
                    .map(|addr| host_port(addr.host(), addr.port()))
                    .collect::<Vec<_>>()
                    .join(", "),
                Err(_) => "an address that is not a NATS URL".to_owned(),
            },
        }
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Why one attempt failed.
enum Failure {
    /// Worth another attempt: nobody listens yet, or nobody answered in time.
    Transient(String),
    /// Another attempt would fail the same way (an unknown host, a bad URL).
    Final(String),
}

impl Failure {
    fn from_io(error: &io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::ConnectionRefused => Self::Transient("connection refused".into()),
            io::ErrorKind::TimedOut => Self::Transient("no answer".into()),
            _ => Self::Final(error.to_string()),
        }
    }

    fn from_nats(error: &async_nats::ConnectError) -> Self {
        use async_nats::ConnectErrorKind;
        match error.kind() {
            ConnectErrorKind::Io => match io_source(error) {
                Some(io) => Self::from_io(io),
                None => Self::Transient(error.to_string()),
            },
            ConnectErrorKind::TimedOut => Self::Transient("no answer".into()),
            _ => Self::Final(error.to_string()),
        }
    }
}

fn io_source<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cause = error.source();
    while let Some(error) = cause {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cause = error.source();
    }
    None
}

/// Runs `attempt` until it succeeds, fails for good, or [`CONNECT_TIMEOUT`]
/// has passed, pausing a little longer after each refusal.
async fn retry_until_deadline<T, F, Fut>(service: Service<'_>, mut attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let mut pause = Duration::from_millis(50);
    loop {
        let why = match timeout_at(deadline, attempt()).await {
            Ok(Ok(reached)) => return Ok(reached),
            Ok(Err(Failure::Final(why))) => {
                return Err(anyhow!(
                    "cannot reach {} at {}: {why}",
                    service.name(),
                    service.address()
                ));
            }
            Ok(Err(Failure::Transient(why))) => why,
            Err(_) => "no answer".to_owned(),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        sleep(pause.min(left)).await;
        if left <= pause {
            return Err(anyhow!(
                "cannot reach {} at {}: {why} (gave up after {} s)",
                service.name(),
                service.address(),
                CONNECT_TIMEOUT.as_secs()
            ));
        }
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}
