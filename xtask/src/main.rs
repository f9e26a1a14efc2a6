//! `cargo xtask`: the one entry point for everything the project runs.
//!
//! ```text
//! cargo xtask test                 fmt check, tidy, clippy -D warnings, all tests, doc tests,
//!                                  cargo doc -D warnings, conformance (when ../shared/specs
//!                                  exists), interop
//! cargo xtask tidy                 the architecture invariants, checked with cargo tree
//! cargo xtask interop              the official Python clients against `routewise serve`
//! cargo xtask conformance [--specs DIR]
//! cargo xtask bench [gateway [--json]|router|strategy]
//! cargo xtask eval|train ARGS      routewise eval|train with MiniLM (fetched once)
//! ```

mod bench;
mod conformance;
mod interop;
mod procs;
mod router_cli;
mod test;
mod tidy;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use xshell::Shell;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_else(|| "help".to_owned());
    let rest: Vec<String> = args.collect();
    let sh = Shell::new()?;
    let cwd = sh.current_dir();
    sh.change_dir(project_root());
    match cmd.as_str() {
        "test" => test::run(&sh, &rest),
        "conformance" => conformance::run(&sh, &rest),
        "interop" => interop::run(&sh, &rest),
        "bench" => bench::run(&sh, &rest),
        "tidy" => tidy::run(&sh),
        "eval" | "train" => router_cli::run(&sh, &cmd, &rest, &cwd),
        "help" | "--help" | "-h" => {
            println!("{}", HELP);
            Ok(())
        }
        other => bail!("unknown xtask command `{other}`\n{HELP}"),
    }
}

const HELP: &str = "\
usage: cargo xtask <command>
  test                         fmt, tidy, clippy -D warnings, tests, doc tests, cargo doc, conformance, interop
  conformance [--specs DIR]    check the wire types against the OpenAPI specs (default ../shared/specs)
  interop                      drive the gateway with the official Python clients
  tidy                         check the architecture invariants (cargo tree)
  bench [gateway [--json] | router | strategy]
  eval ARGS | train ARGS       `routewise eval|train` built with the MiniLM embeddings (weights fetched once)";

/// The workspace root, found from this crate's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The shared reference folder beside the project, if it is there.
pub(crate) fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ROUTEWISE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("../shared"));
    dir.is_dir().then_some(dir)
}

/// Returns the value after `flag` in `args`, if present.
pub(crate) fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}
