//! The gateway benchmark: the same load against the mock upstream directly and through
//! `routewise serve`, in one run, at upstream delays of 0 and 20 ms. A second gateway process
//! (same binary, same mock) runs with access control on: 50 filler principals holding two
//! random keys each, and one `user` principal with an allow-list, whose key every request
//! sends; interleaved with the plain gateway, it is what a key lookup, role check and
//! allow-list check cost. When `redis-server` is on `PATH`, the plain gateway also serves a
//! rate-limited deployment (limits too high to refuse) over a throwaway Redis, interleaved
//! with the unlimited one: what a limit check costs.

use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, HeaderName};
use xshell::{Shell, cmd};

use super::load::{self, LoadResult, Target, percentile};
use super::{mock, relay};
use routewise_testkit::RedisServer;

use crate::procs::free_port;

const BODY: &str = r#"{"model":"mock-model","instructions":"You are a concise assistant.","input":"Explain retrieval-augmented generation in one sentence.","max_output_tokens":256,"temperature":0.2}"#;
const LIMITED_BODY: &str = r#"{"model":"mock-limited","instructions":"You are a concise assistant.","input":"Explain retrieval-augmented generation in one sentence.","max_output_tokens":256,"temperature":0.2}"#;
const STREAM_BODY: &str = r#"{"model":"mock-model","instructions":"You are a concise assistant.","input":"Explain retrieval-augmented generation in one sentence.","max_output_tokens":256,"temperature":0.2,"stream":true}"#;
/// A deployment the bench principal may not use (an admin may): its refusal shows the
/// allow-list is checked.
const DENIED_BODY: &str = r#"{"model":"mock-denied","instructions":"You are a concise assistant.","input":"Explain retrieval-augmented generation in one sentence.","max_output_tokens":256,"temperature":0.2}"#;

/// Rounds (direct, relay, gateway, ...) per concurrency-1 phase: enough for a p99 that is not
/// the single worst sample.
const ROUNDS: usize = 2_000;

/// Filler principals in the access-controlled gateway, two keys each, so its key table is not
/// a single entry.
const FILLER_PRINCIPALS: usize = 50;

/// A row measured against the plain gateway in the same interleaved phase: its p50 and p99
/// minus the gateway's (`None` when either side has no successful request), and its errors.
#[derive(Debug, Default)]
struct Added {
    us: Option<(i64, i64)>,
    errors: u64,
    /// The errors in a few words, for the table.
    summary: String,
}

impl Added {
    fn over(row: &mut LoadResult, base: &mut LoadResult) -> Self {
        let us = (!row.latencies_us.is_empty() && !base.latencies_us.is_empty()).then(|| {
            let p = |v: &mut Vec<u64>, q| percentile(v, q) as i64;
            (
                p(&mut row.latencies_us, 50.0) - p(&mut base.latencies_us, 50.0),
                p(&mut row.latencies_us, 99.0) - p(&mut base.latencies_us, 99.0),
            )
        });
        Self {
            us,
            errors: row.errors,
            summary: row.error_summary(),
        }
    }

    fn cell(&self) -> String {
        let figures = self
            .us
            .map_or("–".to_owned(), |(a, b)| format!("{a:+} / {b:+} µs"));
        if self.errors == 0 {
            figures
        } else {
            format!("{figures}, {} errors", self.summary)
        }
    }
}

/// One delay setting's figures.
#[derive(Debug)]
struct Figures {
    delay_ms: u64,
    direct_p50_us: u64,
    direct_p99_us: u64,
    gateway_p50_us: u64,
    gateway_p99_us: u64,
    relay_p50_us: u64,
    relay_p99_us: u64,
    throughput_rps: f64,
    direct_throughput_rps: f64,
    ttft_added_p99_us: i64,
    /// Rate-limited minus unlimited deployment, same gateway, interleaved (no Redis: `None`).
    limits: Option<Added>,
    /// Access-controlled gateway minus the plain one, interleaved.
    access: Added,
    /// Failed or non-2xx requests of every target in the run.
    errors: u64,
}

impl Figures {
    fn added_p50(&self) -> i64 {
        self.gateway_p50_us as i64 - self.direct_p50_us as i64
    }
    fn added_p99(&self) -> i64 {
        self.gateway_p99_us as i64 - self.direct_p99_us as i64
    }
    fn relay_added_p50(&self) -> i64 {
        self.relay_p50_us as i64 - self.direct_p50_us as i64
    }
    fn relay_added_p99(&self) -> i64 {
        self.relay_p99_us as i64 - self.direct_p99_us as i64
    }
    fn limits_us(&self) -> Option<(i64, i64)> {
        self.limits.as_ref().and_then(|l| l.us)
    }
    fn json(&self, peak_rss_mb: f64) -> String {
        format!(
            "{{\"delay_ms\":{},\"added_p50_us\":{},\"added_p99_us\":{},\"relay_added_p50_us\":{},\"relay_added_p99_us\":{},\"throughput_rps\":{:.1},\"direct_throughput_rps\":{:.1},\"throughput_ratio\":{:.3},\"ttft_added_p99_us\":{},\"limits_added_p50_us\":{},\"limits_added_p99_us\":{},\"access_added_us\":{},\"access_errors\":{},\"peak_rss_mb\":{:.1},\"errors\":{}}}",
            self.delay_ms,
            self.added_p50(),
            self.added_p99(),
            self.relay_added_p50(),
            self.relay_added_p99(),
            self.throughput_rps,
            self.direct_throughput_rps,
            self.throughput_rps / self.direct_throughput_rps.max(1e-9),
            self.ttft_added_p99_us,
            self.limits_us()
                .map_or("null".to_owned(), |l| l.0.to_string()),
            self.limits_us()
                .map_or("null".to_owned(), |l| l.1.to_string()),
            self.access
                .us
                .map_or("null".to_owned(), |(p50, p99)| format!(
                    "{{\"p50\":{p50},\"p99\":{p99}}}"
                )),
            self.access.errors,
            peak_rss_mb,
            self.errors,
        )
    }
}

pub(crate) fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let json = args.iter().any(|a| a == "--json");
    let secs: u64 = crate::flag_value(args, "--seconds")
        .map(str::parse)
        .transpose()?
        .unwrap_or(5);
    let measure = Duration::from_secs(secs);
    let warmup = Duration::from_secs(1);

    eprintln!("bench gateway: building routewise (release)…");
    cmd!(
        sh,
        "cargo build --quiet --release -p routewise-gateway --bin routewise"
    )
    .run()?;
    let bin = target_dir().join("release/routewise");
    let redis = RedisServer::try_start()
        .inspect_err(|e| {
            eprintln!(
                "bench gateway: redis-server did not start ({e}); skipping the rate-limited row"
            );
        })
        .ok();
    let principals = Principals::generate();

    let mut all = Vec::new();
    let mut peak_rss_mb = 0.0f64;
    for delay_ms in [0u64, 20] {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // The mock gets its own thread and runtime so it never competes with the load generator's.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let addr = mock::start(Duration::from_millis(delay_ms))
                    .await
                    .expect("mock upstream");
                tx.send(addr).expect("send addr");
                std::future::pending::<()>().await;
            });
        });
        let upstream = rx.recv()?;
        let config = write_config(upstream, redis.as_ref().map(|r| r.port()))?;
        let access_config = write_access_config(upstream, &principals)?;
        let gw_addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let acl_addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        // Both are killed on drop, so on every way out of this iteration.
        let mut gw = Gateway::start(&bin, &config, gw_addr, &[])?;
        let mut acl = Gateway::start(&bin, &access_config, acl_addr, &principals.env)?;

        let f = rt.block_on(async {
            let path = "/openai/v1/responses";
            let direct_path = "/v1/responses";
            let body = Bytes::from_static(BODY.as_bytes());
            let sbody = Bytes::from_static(STREAM_BODY.as_bytes());
            let relay_addr = relay::start(upstream).context("relay")?;
            let c1 = |b: &Bytes| {
                vec![
                    Target::new(upstream, direct_path, b.clone()),
                    Target::new(relay_addr, path, b.clone()),
                    Target::new(gw_addr, path, b.clone()),
                ]
            };
            let access = Target::new(acl_addr, path, body.clone())
                .without(AUTHORIZATION)
                .header("api-key", &principals.user_key)?;
            check_access_control(&access, &principals).await?;
            let mut targets = c1(&body);
            targets.push(access);
            if redis.is_some() {
                targets.push(Target::new(
                    gw_addr,
                    path,
                    Bytes::from_static(LIMITED_BODY.as_bytes()),
                ));
            }
            // p99 needs samples: at 20 ms a round takes 20 ms per target, so up to ROUNDS
            // rounds or 2x the phase time per target (the 6x it was for three targets),
            // whichever comes first.
            let max = measure * 2 * targets.len() as u32;
            let mut phase = load::run_interleaved(&targets, warmup, ROUNDS, max).await;
            let mut limited = redis.is_some().then(|| phase.pop()).flatten();
            let mut a1 = phase.pop().expect("the access-controlled target");
            let [mut d1, mut r1, mut g1]: [LoadResult; 3] =
                phase.try_into().expect("three targets");
            let limits = limited.as_mut().map(|l| Added::over(l, &mut g1));
            let access = Added::over(&mut a1, &mut g1);
            let d32 = load::run(&targets[0], 32, warmup, measure).await;
            let g32 = load::run(&targets[2], 32, warmup, measure).await;
            let [mut ds, rs, mut gs]: [LoadResult; 3] =
                load::run_interleaved(&c1(&sbody), warmup, ROUNDS, measure * 6)
                    .await
                    .try_into()
                    .expect("three targets");
            let mut errors = 0;
            for (name, r) in [
                ("direct", &d1),
                ("relay", &r1),
                ("gateway", &g1),
                ("access-controlled gateway", &a1),
                ("c=32 direct", &d32),
                ("c=32 gateway", &g32),
                ("stream direct", &ds),
                ("stream relay", &rs),
                ("stream gateway", &gs),
            ]
            .into_iter()
            .chain(limited.as_ref().map(|l| ("rate-limited gateway", l)))
            {
                errors += r.errors;
                if r.errors > 0 {
                    eprintln!(
                        "bench gateway: {delay_ms} ms, {name}: {} errors",
                        r.error_summary()
                    );
                }
            }
            let mut f = summarize(
                delay_ms,
                [&mut d1, &mut r1, &mut g1],
                [&d32, &g32],
                [&mut ds, &mut gs],
            );
            f.limits = limits;
            f.access = access;
            f.errors = errors;
            anyhow::Ok(f)
        })?;
        peak_rss_mb = peak_rss_mb.max(gw.peak_rss_mb());
        gw.stop();
        acl.stop();
        all.push(f);
    }

    if json {
        let main = all.iter().find(|f| f.delay_ms == 20).context("20 ms run")?;
        let nodelay = all.iter().find(|f| f.delay_ms == 0).context("0 ms run")?;
        let mut top = main.json(peak_rss_mb);
        top.pop();
        println!("{top},\"no_delay\":{}}}", nodelay.json(peak_rss_mb));
    } else {
        println!("{}", table(&all, peak_rss_mb));
    }
    Ok(())
}

fn summarize(
    delay_ms: u64,
    [d1, r1, g1]: [&mut LoadResult; 3],
    [d32, g32]: [&LoadResult; 2],
    [ds, gs]: [&mut LoadResult; 2],
) -> Figures {
    Figures {
        delay_ms,
        direct_p50_us: percentile(&mut d1.latencies_us, 50.0),
        direct_p99_us: percentile(&mut d1.latencies_us, 99.0),
        gateway_p50_us: percentile(&mut g1.latencies_us, 50.0),
        gateway_p99_us: percentile(&mut g1.latencies_us, 99.0),
        relay_p50_us: percentile(&mut r1.latencies_us, 50.0),
        relay_p99_us: percentile(&mut r1.latencies_us, 99.0),
        throughput_rps: g32.rps(),
        direct_throughput_rps: d32.rps(),
        ttft_added_p99_us: percentile(&mut gs.ttfb_us, 99.0) as i64
            - percentile(&mut ds.ttfb_us, 99.0) as i64,
        limits: None,
        access: Added::default(),
        // Every target's, set by the caller.
        errors: 0,
    }
}

fn table(all: &[Figures], peak_rss_mb: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| upstream delay | direct p50/p99 (c=1) | gateway p50/p99 (c=1) | added p50/p99 | byte relay added p50/p99 | c=32 direct rps | c=32 gateway rps | ratio | stream TTFT added p99 | rate limit added p50/p99 | access control added p50/p99 | errors |"
    );
    let _ = writeln!(
        s,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for f in all {
        let _ = writeln!(
            s,
            "| {} ms | {} / {} µs | {} / {} µs | {:+} / {:+} µs | {:+} / {:+} µs | {:.0} | {:.0} | {:.1}% | {:+} µs | {} | {} | {} |",
            f.delay_ms,
            f.direct_p50_us,
            f.direct_p99_us,
            f.gateway_p50_us,
            f.gateway_p99_us,
            f.added_p50(),
            f.added_p99(),
            f.relay_added_p50(),
            f.relay_added_p99(),
            f.direct_throughput_rps,
            f.throughput_rps,
            100.0 * f.throughput_rps / f.direct_throughput_rps.max(1e-9),
            f.ttft_added_p99_us,
            f.limits.as_ref().map_or("–".to_owned(), Added::cell),
            f.access.cell(),
            f.errors
        );
    }
    let _ = writeln!(
        s,
        "\ngateway peak RSS: {peak_rss_mb:.1} MB; access control: {} principals, {} keys; errors: every failed or non-2xx request of the run",
        FILLER_PRINCIPALS + 1,
        2 * FILLER_PRINCIPALS + 1
    );
    s
}

fn write_config(upstream: SocketAddr, redis_port: Option<u16>) -> Result<PathBuf> {
    let path = target_dir().join("bench-gateway.toml");
    let mut toml = format!(
        r#"# Written by `cargo xtask bench gateway`: one OpenAI-compatible upstream, the benchmark mock.
[server]
access_control = false

[[deployments]]
name = "mock-model"
model = "mock-model"
upstream = {{ kind = "openai_compatible", base_url = "http://{upstream}/v1" }}
"#
    );
    if let Some(port) = redis_port {
        // Limits far above what the load can reach: every request pays the check, none is refused.
        let _ = write!(
            toml,
            r#"
[limits]
redis_url = "redis://127.0.0.1:{port}/0"

[[deployments]]
name = "mock-limited"
model = "mock-model"
upstream_model = "mock-model"
upstream = {{ kind = "openai_compatible", base_url = "http://{upstream}/v1" }}
rpm = 1000000000
tpm = 1000000000000
"#
        );
    }
    std::fs::write(&path, toml)?;
    Ok(path)
}

/// The access-controlled gateway's config: the same mock as `mock-model`, `mock-denied` (which
/// no principal may use but admins) for the allow-list check, and the principals (their keys
/// are only named here: they come from the environment).
fn write_access_config(upstream: SocketAddr, principals: &Principals) -> Result<PathBuf> {
    let path = target_dir().join("bench-gateway-access.toml");
    let toml = format!(
        r#"# Written by `cargo xtask bench gateway`: the benchmark mock behind role-based access.
[server]
access_control = true

[[deployments]]
name = "mock-model"
model = "mock-model"
upstream = {{ kind = "openai_compatible", base_url = "http://{upstream}/v1" }}

[[deployments]]
name = "mock-denied"
model = "mock-model"
upstream_model = "mock-model"
upstream = {{ kind = "openai_compatible", base_url = "http://{upstream}/v1" }}
{}"#,
        principals.toml
    );
    std::fs::write(&path, toml)?;
    Ok(path)
}

/// The access-controlled gateway's principals: `FILLER_PRINCIPALS` with two random keys each
/// (roles in turn, the `user` ones with an allow-list) and `bench-user`, a `user` allowed
/// `mock-model`, whose one key the load sends. Keys live in the child's environment only.
struct Principals {
    /// `(variable, keys)` for the gateway process.
    env: Vec<(String, String)>,
    /// The `[[access.principals]]` tables.
    toml: String,
    /// The key the load sends (`bench-user`).
    user_key: String,
    /// A filler `reader`'s and a filler `admin`'s key, for the checks before measuring.
    reader_key: String,
    admin_key: String,
}

impl Principals {
    fn generate() -> Self {
        const ROLES: [&str; 4] = ["user", "reader", "monitor", "admin"];
        let mut env = Vec::with_capacity(FILLER_PRINCIPALS + 1);
        let mut toml = String::new();
        let (mut reader_key, mut admin_key) = (String::new(), String::new());
        for i in 0..FILLER_PRINCIPALS {
            let var = format!("ROUTEWISE_BENCH_P{i:02}_KEYS");
            let keys = [random_key(), random_key()];
            let role = ROLES[i % ROLES.len()];
            match role {
                "reader" => reader_key.clone_from(&keys[1]),
                "admin" => admin_key.clone_from(&keys[1]),
                _ => {}
            }
            env.push((var.clone(), keys.join(",")));
            let _ = write!(
                toml,
                "\n[[access.principals]]\nname = \"bench-p{i:02}\"\nkeys_env = \"{var}\"\nrole = \"{role}\"\n"
            );
            if role == "user" {
                toml.push_str("deployments = [\"mock-model\"]\n");
            }
        }
        let user_key = random_key();
        env.push(("ROUTEWISE_BENCH_USER_KEYS".to_owned(), user_key.clone()));
        toml.push_str(
            "\n[[access.principals]]\nname = \"bench-user\"\nkeys_env = \"ROUTEWISE_BENCH_USER_KEYS\"\nrole = \"user\"\ndeployments = [\"mock-model\"]\n",
        );
        Self {
            env,
            toml,
            user_key,
            reader_key,
            admin_key,
        }
    }
}

/// 128 random bits as 32 hex digits, like an Azure OpenAI key (`RandomState`'s keys come from
/// the OS's random source, fresh for each state).
fn random_key() -> String {
    let half = || RandomState::new().hash_one(Instant::now());
    format!("{:016x}{:016x}", half(), half())
}

/// Before measuring, that access control is really applied: the bench key is served, a
/// missing key is a 401, a `reader` may not create (403), and a deployment outside the
/// allow-list is refused (403, or the 404 of an unknown name) though an admin is served by it.
async fn check_access_control(access: &Target, principals: &Principals) -> Result<()> {
    let denied_body = Bytes::from_static(DENIED_BODY.as_bytes());
    let denied = access.clone().with_body(denied_body.clone());
    let admin_denied = denied.clone().header("api-key", &principals.admin_key)?;
    let reader = access.clone().header("api-key", &principals.reader_key)?;
    let anonymous = access.clone().without(HeaderName::from_static("api-key"));
    let refused = [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND];
    for (what, target, want) in [
        ("the bench principal's key", access, &[StatusCode::OK][..]),
        ("an admin on mock-denied", &admin_denied, &[StatusCode::OK]),
        ("no key", &anonymous, &[StatusCode::UNAUTHORIZED]),
        ("a reader creating", &reader, &[StatusCode::FORBIDDEN]),
        ("a deployment outside the allow-list", &denied, &refused),
    ] {
        let got = load::probe(target)
            .await
            .map_err(|e| anyhow::anyhow!("access-controlled gateway, {what}: {e}"))?;
        if !want.contains(&got) {
            bail!("access-controlled gateway, {what}: expected {want:?}, got {got}");
        }
    }
    Ok(())
}

struct Gateway {
    child: Child,
    pid: u32,
}

impl Gateway {
    fn start(
        bin: &Path,
        config: &Path,
        addr: SocketAddr,
        env: &[(String, String)],
    ) -> Result<Self> {
        let child = Command::new(bin)
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &addr.to_string()])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        let mut gw = Self { child, pid };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline || gw.child.try_wait()?.is_some() {
                gw.stop();
                bail!("the gateway did not start listening on {addr}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(gw)
    }

    /// VmHWM: the kernel's own peak resident set size for the process.
    fn peak_rss_mb(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|| crate::project_root().join("target"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_without_successes_has_no_figures_and_shows_its_errors() {
        let mut base = LoadResult {
            latencies_us: vec![100, 200, 300],
            ..LoadResult::default()
        };
        let mut failed = LoadResult {
            errors: 3,
            first_error: Some("HTTP 401".into()),
            ..LoadResult::default()
        };
        let added = Added::over(&mut failed, &mut base);
        assert_eq!(added.us, None);
        assert_eq!(added.cell(), "–, 3 (first: HTTP 401) errors");
        let mut ok = LoadResult {
            latencies_us: vec![150, 260, 330],
            ..LoadResult::default()
        };
        assert_eq!(Added::over(&mut ok, &mut base).cell(), "+60 / +30 µs");
    }

    #[test]
    fn principals_hold_distinct_random_keys() {
        let p = Principals::generate();
        assert_eq!(p.env.len(), FILLER_PRINCIPALS + 1);
        let mut keys: Vec<&str> = p.env.iter().flat_map(|(_, v)| v.split(',')).collect();
        assert_eq!(keys.len(), 2 * FILLER_PRINCIPALS + 1);
        assert!(keys.iter().all(|k| k.len() == 32));
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 2 * FILLER_PRINCIPALS + 1);
        for k in [&p.user_key, &p.reader_key, &p.admin_key] {
            assert!(keys.contains(&k.as_str()));
        }
        assert_eq!(
            p.toml.matches("[[access.principals]]").count(),
            FILLER_PRINCIPALS + 1
        );
    }
}
