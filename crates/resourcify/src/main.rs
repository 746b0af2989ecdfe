//! `resourcify`: the server and its operator commands.

use clap::Parser;
use resourcify::cli::Cli;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    cli.init_tracing();
    // Before the runtime exists, so that every worker inherits it.
    if cli.yields_cpu() {
        resourcify::priority::yield_cpu_to_live_traffic();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(cli.run())
}
