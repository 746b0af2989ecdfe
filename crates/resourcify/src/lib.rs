//! Wiring: turns settings into a running node (API, projectors, or both).
//! The binary's subcommands and the test kit both start nodes through here.

mod logging;
mod node;
mod settings;

pub use logging::init_tracing;
pub use node::{RunningNode, migrate, start};
pub use settings::{NodeSettings, Roles};
