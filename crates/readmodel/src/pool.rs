//! Connection pools with the guards the outage taught us to keep on.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Limits applied to every connection of a pool.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// No statement may run longer; a runaway query is cancelled, not waited for.
    pub statement_timeout: Duration,
    /// No statement may wait longer for a lock.
    pub lock_timeout: Duration,
    /// A transaction left open and idle this long is ended by the server.
    pub idle_in_transaction_timeout: Duration,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(2),
            idle_in_transaction_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens a pool whose every connection carries the settings' timeouts.
pub async fn connect(options: PgConnectOptions, settings: &PoolSettings) -> sqlx::Result<PgPool> {
    pool_options(settings)
        .connect_with(with_timeouts(options, settings))
        .await
}

/// The same, connecting on first use: for a server that may be down when
/// the node starts (a read replica).
pub fn connect_lazy(options: PgConnectOptions, settings: &PoolSettings) -> PgPool {
    pool_options(settings).connect_lazy_with(with_timeouts(options, settings))
}

fn pool_options(settings: &PoolSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
}

fn with_timeouts(options: PgConnectOptions, settings: &PoolSettings) -> PgConnectOptions {
    let ms = |d: Duration| format!("{}ms", d.as_millis());
    options.options([
        ("statement_timeout", ms(settings.statement_timeout)),
        ("lock_timeout", ms(settings.lock_timeout)),
        (
            "idle_in_transaction_session_timeout",
            ms(settings.idle_in_transaction_timeout),
        ),
    ])
}
