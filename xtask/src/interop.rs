//! `cargo xtask interop`: the gateway driven by the official Python clients.

use anyhow::Result;
use xshell::Shell;

pub(crate) fn run(_sh: &Shell, _args: &[String]) -> Result<()> {
    println!("interop: not wired yet");
    Ok(())
}
