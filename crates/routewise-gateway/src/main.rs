//! The `routewise` command line: `routewise serve [--config FILE] [--listen ADDR]`,
//! `routewise train` and `routewise eval` (see `routewise --help`).

use std::process::ExitCode;

use clap::Parser;
use routewise_gateway::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    routewise_gateway::telemetry::init_logging(cli.log_format());
    match cli.runtime() {
        Ok(rt) => rt.block_on(cli.run()),
        Err(e) => {
            eprintln!("routewise: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
