//! Wiring: turns settings into a running node (API, projectors, or both).
//! The binary's subcommands and the test kit both start nodes through here.

mod node;
mod settings;

pub use node::{RunningNode, migrate, start};
pub use settings::{NodeSettings, Roles};

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), as text or JSON.
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
