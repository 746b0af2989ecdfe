//! `resourcify`: the server and its operator commands.

use clap::Parser;
use resourcify::cli::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    cli.init_tracing();
    cli.run().await
}
