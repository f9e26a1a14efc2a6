//! `cargo xtask bench`: benchmarks reported as ratios against a baseline from the same run.

use anyhow::Result;
use xshell::Shell;

pub(crate) fn run(_sh: &Shell, _args: &[String]) -> Result<()> {
    println!("bench: not wired yet");
    Ok(())
}
