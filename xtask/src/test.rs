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

    step("cargo test (unit, integration, examples)");
    cmd!(sh, "cargo test --workspace --all-targets --all-features").run()?;

    step("cargo test --doc");
    cmd!(sh, "cargo test --workspace --doc --all-features").run()?;

    step("cargo doc (warnings are errors)");
    cmd!(sh, "cargo doc --workspace --no-deps --all-features --quiet")
        .env("RUSTDOCFLAGS", "-D warnings")
        .run()?;

    step("conformance against ../shared/specs");
    crate::conformance::run(sh, &[])?;

    step("interop with the official Python clients");
    crate::interop::run(sh, &[])?;

    println!("\nxtask test: all steps passed");
    Ok(())
}

fn step(name: &str) {
    println!("\n==> {name}");
}
