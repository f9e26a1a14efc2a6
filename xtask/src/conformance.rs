//! `cargo xtask conformance`: the wire types against the official OpenAPI documents.

use anyhow::Result;
use xshell::Shell;

pub(crate) fn run(_sh: &Shell, _args: &[String]) -> Result<()> {
    println!("conformance: not wired yet");
    Ok(())
}
