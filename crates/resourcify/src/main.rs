//! `resourcify`: the server and its operator commands.

mod cli;
mod operator;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    cli::init_tracing(&cli.log_format);
    cli.run().await
}
