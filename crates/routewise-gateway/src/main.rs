//! The `routewise` command line: `routewise serve [--config FILE] [--listen ADDR]`,
//! `routewise train` and `routewise eval` (see `routewise --help`).

use std::process::ExitCode;

use clap::Parser;
use routewise_gateway::cli::Cli;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.runtime() {
        Ok(rt) => rt.block_on(cli.run()),
        Err(e) => {
            eprintln!("routewise: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
