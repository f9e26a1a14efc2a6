//! Architecture invariants from ARCHITECTURE.md, checked with `cargo tree` on every test run.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

/// (crate, features flag, crates that must not appear in its normal dependency tree)
const RULES: &[(&str, &str, &[&str])] = &[
    (
        "routewise-types",
        "--all-features",
        &["tokio", "reqwest", "hyper", "mio"],
    ),
    (
        "routewise-auth",
        "--all-features",
        &["routewise-transport", "routewise-types"],
    ),
    (
        "routewise-transport",
        "--all-features",
        &[
            "azure_identity",
            "azure_core",
            "routewise-auth",
            "routewise-types",
        ],
    ),
    (
        "routewise-strategy",
        "--all-features",
        &[
            "routewise-transport",
            "routewise-auth",
            "routewise",
            "tokio",
        ],
    ),
    (
        "routewise-testkit",
        "--all-features",
        &[
            "routewise-auth",
            "routewise-transport",
            "routewise-strategy",
            "routewise",
            "routewise-gateway",
        ],
    ),
    (
        "routewise",
        "--all-features",
        &["routewise-gateway", "axum"],
    ),
    ("routewise-gateway", "--all-features", &["routewise"]),
];

pub(crate) fn run(sh: &Shell) -> Result<()> {
    let mut broken = Vec::new();
    let format = "{p}";
    for (krate, features, forbidden) in RULES {
        let tree = cmd!(
            sh,
            "cargo tree --quiet -p {krate} {features} -e normal --prefix none --format {format}"
        )
        .read()?;
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if forbidden.contains(&name) {
                broken.push(format!("{krate} depends on {name}"));
            }
        }
    }
    broken.sort();
    broken.dedup();
    if !broken.is_empty() {
        bail!("architecture invariants broken:\n  {}", broken.join("\n  "));
    }
    println!("tidy: {} dependency rules hold", RULES.len());
    Ok(())
}
