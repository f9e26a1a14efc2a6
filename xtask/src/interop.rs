//! `cargo xtask interop`: the gateway driven by the official Python clients.
//!
//! Installs pinned `openai` and `azure-ai-projects` into a project-local virtualenv
//! (`target/interop-venv`), starts a throwaway `redis-server` and `routewise serve` (its
//! embedded emulator pool, storing responses in that Redis) on free loopback ports, and runs
//! `tests/interop/seed_interop.py` against it. A second gateway serves the platform checks
//! (`tests/interop/platform.toml`: rate limits, content filters and background responses over the same Redis), which need a config.
//! A third serves the access checks (`tests/interop/access.toml`: principals with roles,
//! allow-lists, tenants and data zones), with keys made up afresh for each run and handed only
//! to that gateway and the script.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use routewise_testkit::RedisServer;

use crate::procs::{KillOnDrop, free_port};

/// Versions the interop test was written against; bump deliberately.
const PYTHON_PACKAGES: &[&str] = &["openai==3.57.0", "azure-ai-projects==2.10.0"];

/// The variables `tests/interop/access.toml` reads its principals' keys from (the script reads
/// the same ones).
const ACCESS_KEY_VARS: &[&str] = &[
    "ROUTEWISE_INTEROP_ADMIN_OPS_KEY",
    "ROUTEWISE_INTEROP_TEAM_EU_KEY",
    "ROUTEWISE_INTEROP_TEAM_US_KEY",
    "ROUTEWISE_INTEROP_AUDITOR_KEY",
    "ROUTEWISE_INTEROP_GRAFANA_KEY",
];

pub(crate) fn run(sh: &Shell, _args: &[String]) -> Result<()> {
    let python = ensure_venv(sh)?;

    cmd!(
        sh,
        "cargo build --quiet -p routewise-gateway --bin routewise"
    )
    .run()?;
    let bin = target_dir().join("debug/routewise");

    let redis = RedisServer::try_start()
        .context("starting redis-server (.ci/setup installs Debian's redis-server)")?;
    let redis_url = redis.url();

    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let server = Command::new(&bin)
        .args(["serve", "--listen", &listen, "--redis-url", &redis_url])
        // The per-request access log would bury the checks; warnings still show.
        .env("RUST_LOG", "warn")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut server = KillOnDrop(server);
    wait_healthy(&listen, &mut server.0)?;

    let platform_listen = format!("127.0.0.1:{}", free_port()?);
    let platform = Command::new(&bin)
        .args(["serve", "--listen", &platform_listen, "--config"])
        .arg(crate::project_root().join("tests/interop/platform.toml"))
        .env("ROUTEWISE_INTEROP_REDIS_URL", &redis_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut platform = KillOnDrop(platform);
    wait_healthy(&platform_listen, &mut platform.0)?;

    // Each principal's key: random, this run only, never written anywhere.
    let keys: Vec<(&str, String)> = ACCESS_KEY_VARS
        .iter()
        .map(|var| Ok((*var, random_key()?)))
        .collect::<Result<_>>()?;
    let access_listen = format!("127.0.0.1:{}", free_port()?);
    let access = Command::new(&bin)
        .args(["serve", "--listen", &access_listen, "--config"])
        .arg(crate::project_root().join("tests/interop/access.toml"))
        .env("ROUTEWISE_INTEROP_REDIS_URL", &redis_url)
        .envs(keys.iter().map(|(var, key)| (var, key)))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut access = KillOnDrop(access);
    wait_healthy(&access_listen, &mut access.0)?;

    let status = Command::new(&python)
        .arg(crate::project_root().join("tests/interop/seed_interop.py"))
        .env("ROUTEWISE_GATEWAY", format!("http://{listen}"))
        .env(
            "ROUTEWISE_PLATFORM_GATEWAY",
            format!("http://{platform_listen}"),
        )
        .env(
            "ROUTEWISE_ACCESS_GATEWAY",
            format!("http://{access_listen}"),
        )
        .envs(keys.iter().map(|(var, key)| (var, key)))
        .status()
        .context("running the interop script")?;
    if !status.success() {
        bail!("interop script failed ({status})");
    }
    Ok(())
}

fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|| crate::project_root().join("target"))
}

/// Creates the virtualenv and installs the pinned clients once; later runs reuse it.
fn ensure_venv(sh: &Shell) -> Result<std::path::PathBuf> {
    let venv = target_dir().join("interop-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(".routewise-packages");
    let wanted = PYTHON_PACKAGES.join("\n");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    let system_python = find_python()?;
    cmd!(sh, "{system_python} -m venv {venv}").run().context(
        "creating the interop virtualenv (needs python3 with the venv module: apt-get install python3-venv)",
    )?;
    let packages = PYTHON_PACKAGES;
    cmd!(
        sh,
        "{python} -m pip install --quiet --disable-pip-version-check {packages...}"
    )
    .run()
    .context("installing the official Python clients from PyPI")?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

fn find_python() -> Result<String> {
    for candidate in ["python3", "python"] {
        let ok = Command::new(candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(candidate.to_owned());
        }
    }
    bail!("the interop test needs python3 on PATH")
}

/// A throwaway key: 128 bits from the OS's random source, in hex.
fn random_key() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for the interop run's keys")?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("rw-interop-{hex}"))
}

fn wait_healthy(addr: &str, server: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = server.try_wait()? {
            bail!("routewise serve exited early ({status})");
        }
        if healthz(addr).unwrap_or(false) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("routewise serve did not answer /healthz on {addr} within 30 s")
}

fn healthz(addr: &str) -> std::io::Result<bool> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    Ok(buf.starts_with("HTTP/1.1 200"))
}
