//! `cargo xtask eval|train ARGS...`: `routewise eval|train` with the router's best estimator.
//!
//! The MiniLM kNN needs a build with the `embeddings` feature and the weights on disk; this
//! fetches the weights once (into target/minilm), builds the gateway in release with the
//! feature and passes ARGS through unchanged. Paths in ARGS are read from the directory the
//! command was started in.

use std::path::Path;

use anyhow::Result;
use xshell::{Shell, cmd};

/// Runs `routewise <sub> ARGS` from `cwd` (the caller's directory).
pub(crate) fn run(sh: &Shell, sub: &str, args: &[String], cwd: &Path) -> Result<()> {
    let minilm = crate::test::fetch_minilm(sh);
    let manifest = crate::project_root().join("Cargo.toml");
    sh.change_dir(cwd);
    let mut run = cmd!(
        sh,
        "cargo run --quiet --release --manifest-path {manifest} -p routewise-gateway
         --features embeddings -- {sub} {args...}"
    );
    if let Some(dir) = minilm {
        run = run.env("ROUTEWISE_MINILM_DIR", dir);
    }
    run.run()?;
    Ok(())
}
