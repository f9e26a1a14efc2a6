//! `cargo xtask bench [gateway|router|strategy] [--json]`: benchmarks reported as ratios and
//! differences against a baseline measured in the same run, because machines here are noisy.

mod gateway;
mod load;
mod mock;
mod relay;

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let which = args.first().map(String::as_str).unwrap_or("all");
    match which {
        "gateway" => gateway::run(sh, &args[1..]),
        "router" => {
            cmd!(sh, "cargo bench -p routewise-strategy --bench router").run()?;
            Ok(())
        }
        "strategy" | "strategies" => {
            cmd!(sh, "cargo bench -p routewise-strategy --bench strategies").run()?;
            Ok(())
        }
        "all" => {
            cmd!(sh, "cargo bench -p routewise-strategy").run()?;
            gateway::run(sh, &args[1..])
        }
        other => bail!("unknown benchmark `{other}` (gateway | router | strategy)"),
    }
}
