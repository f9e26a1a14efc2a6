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
        "router" => router(sh),
        "strategy" | "strategies" => {
            cmd!(sh, "cargo bench -p routewise-strategy --bench strategies").run()?;
            Ok(())
        }
        "all" => {
            router(sh)?;
            cmd!(sh, "cargo bench -p routewise-strategy --bench strategies").run()?;
            gateway::run(sh, &args[1..])
        }
        other => bail!("unknown benchmark `{other}` (gateway | router | strategy)"),
    }
}

/// The router bench, with the MiniLM rows when the weights can be fetched (the same script
/// `cargo xtask test` uses), without them otherwise.
fn router(sh: &Shell) -> Result<()> {
    match crate::test::fetch_minilm(sh) {
        // The budget is per prompt on one core: candle's matmuls get one thread.
        Some(dir) => cmd!(
            sh,
            "cargo bench -p routewise-strategy --features embeddings --bench router"
        )
        .env("ROUTEWISE_MINILM_DIR", dir)
        .env("RAYON_NUM_THREADS", "1")
        .run()?,
        None => {
            eprintln!("bench router: no MiniLM weights; only the rows without embeddings");
            cmd!(sh, "cargo bench -p routewise-strategy --bench router").run()?
        }
    }
    Ok(())
}
