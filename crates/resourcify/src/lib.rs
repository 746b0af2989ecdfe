//! Wiring: turns settings into a running node (API, projectors, or both),
//! and the command line that does so. The binary and the test kit both
//! start nodes through here.

mod backup;
pub mod cli;
mod connect;
mod idle_connections;
mod logging;
mod metric_families;
mod metrics_endpoint;
mod node;
mod operator;
pub mod priority;
mod progress;
mod settings;

pub use connect::connect_nats;
pub use logging::{init_tracing, init_tracing_at};
pub use metric_families::{install_metrics, metric_families};
pub use node::{RunningNode, migrate, start};
pub use settings::{NodeSettings, Roles};
