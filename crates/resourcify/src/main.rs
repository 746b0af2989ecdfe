//! `resourcify`: the server and its operator commands.

use clap::Parser;
use resourcify::cli::{Cli, init_tracing};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    cli.run().await
}
