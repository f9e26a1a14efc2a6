//! The gateway benchmark: the same load against the mock upstream directly and through
//! `routewise serve`, in one run, at upstream delays of 0 and 20 ms. When `redis-server` is on
//! `PATH`, the same gateway also serves a rate-limited deployment (limits too high to refuse)
//! over a throwaway Redis, interleaved with the unlimited one: what a limit check costs.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use xshell::{Shell, cmd};

use super::load::{self, LoadResult, percentile};
use super::{mock, relay};

const BODY: &str = r#"{"model":"mock-model","instructions":"You are a concise assistant.","input":"Explain retrieval-augmented generation in one sentence.","max_output_tokens":256,"temperature":0.2}"#;
const LIMITED_BODY: &str = r#"{"model":"mock-limited","instructions":"You are a concise assistant.","input":"Explain retrieval-augmented generation in one sentence.","max_output_tokens":256,"temperature":0.2}"#;
const STREAM_BODY: &str = r#"{"model":"mock-model","instructions":"You are a concise assistant.","input":"Explain retrieval-augmented generation in one sentence.","max_output_tokens":256,"temperature":0.2,"stream":true}"#;

/// Rounds (direct, relay, gateway) per concurrency-1 phase: enough for a p99 that is not
/// the single worst sample.
const ROUNDS: usize = 2_000;

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
    limits_added_us: Option<(i64, i64)>,
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
    fn json(&self, peak_rss_mb: f64) -> String {
        format!(
            "{{\"delay_ms\":{},\"added_p50_us\":{},\"added_p99_us\":{},\"relay_added_p50_us\":{},\"relay_added_p99_us\":{},\"throughput_rps\":{:.1},\"direct_throughput_rps\":{:.1},\"throughput_ratio\":{:.3},\"ttft_added_p99_us\":{},\"limits_added_p50_us\":{},\"limits_added_p99_us\":{},\"peak_rss_mb\":{:.1},\"errors\":{}}}",
            self.delay_ms,
            self.added_p50(),
            self.added_p99(),
            self.relay_added_p50(),
            self.relay_added_p99(),
            self.throughput_rps,
            self.direct_throughput_rps,
            self.throughput_rps / self.direct_throughput_rps.max(1e-9),
            self.ttft_added_p99_us,
            self.limits_added_us
                .map_or("null".to_owned(), |l| l.0.to_string()),
            self.limits_added_us
                .map_or("null".to_owned(), |l| l.1.to_string()),
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
    let redis = Redis::start();
    if redis.is_none() {
        eprintln!("bench gateway: no redis-server on PATH; skipping the rate-limited row");
    }

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
        let config = write_config(upstream, redis.as_ref().map(|r| r.port))?;
        let gw_addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let mut gw = Gateway::start(&bin, &config, gw_addr)?;

        let f = rt.block_on(async {
            let path = "/openai/v1/responses";
            let direct_path = "/v1/responses";
            let body = Bytes::from_static(BODY.as_bytes());
            let sbody = Bytes::from_static(STREAM_BODY.as_bytes());
            // p99 needs samples: at 20 ms a round takes 60 ms, so up to ROUNDS rounds or 6x
            // the phase time, whichever comes first.
            let relay_addr = relay::start(upstream).expect("relay");
            let c1 = |b: &Bytes| {
                vec![
                    (upstream, direct_path, b.clone()),
                    (relay_addr, path, b.clone()),
                    (gw_addr, path, b.clone()),
                ]
            };
            let mut targets = c1(&body);
            if redis.is_some() {
                targets.push((gw_addr, path, Bytes::from_static(LIMITED_BODY.as_bytes())));
            }
            let mut phase = load::run_interleaved(&targets, warmup, ROUNDS, measure * 6).await;
            let mut limited = (phase.len() == 4).then(|| phase.remove(3));
            let [mut d1, mut r1, mut g1]: [LoadResult; 3] =
                phase.try_into().expect("three targets");
            let limits_added_us = limited.as_mut().map(|l| {
                let lp = |v: &mut Vec<u64>, p| percentile(v, p) as i64;
                (
                    lp(&mut l.latencies_us, 50.0) - lp(&mut g1.latencies_us, 50.0),
                    lp(&mut l.latencies_us, 99.0) - lp(&mut g1.latencies_us, 99.0),
                )
            });
            let limited_errors = limited.as_ref().map_or(0, |l| l.errors);
            let d32 = load::run(upstream, direct_path, body.clone(), 32, warmup, measure).await;
            let g32 = load::run(gw_addr, path, body.clone(), 32, warmup, measure).await;
            let [mut ds, _, mut gs]: [LoadResult; 3] =
                load::run_interleaved(&c1(&sbody), warmup, ROUNDS, measure * 6)
                    .await
                    .try_into()
                    .expect("three targets");
            let mut f = summarize(
                delay_ms,
                [&mut d1, &mut r1, &mut g1],
                [&d32, &g32],
                [&mut ds, &mut gs],
            );
            f.limits_added_us = limits_added_us;
            f.errors += limited_errors;
            f
        });
        peak_rss_mb = peak_rss_mb.max(gw.peak_rss_mb());
        gw.stop();
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
        limits_added_us: None,
        errors: g1.errors + g32.errors + gs.errors,
    }
}

fn table(all: &[Figures], peak_rss_mb: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| upstream delay | direct p50/p99 (c=1) | gateway p50/p99 (c=1) | added p50/p99 | byte relay added p50/p99 | c=32 direct rps | c=32 gateway rps | ratio | stream TTFT added p99 | rate limit added p50/p99 | errors |"
    );
    let _ = writeln!(
        s,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for f in all {
        let _ = writeln!(
            s,
            "| {} ms | {} / {} µs | {} / {} µs | {:+} / {:+} µs | {:+} / {:+} µs | {:.0} | {:.0} | {:.1}% | {:+} µs | {} | {} |",
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
            f.limits_added_us
                .map_or("–".to_owned(), |(a, b)| format!("{a:+} / {b:+} µs")),
            f.errors
        );
    }
    let _ = writeln!(s, "\ngateway peak RSS: {peak_rss_mb:.1} MB");
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

struct Gateway {
    child: Child,
    pid: u32,
}

impl Gateway {
    fn start(bin: &PathBuf, config: &PathBuf, addr: SocketAddr) -> Result<Self> {
        let child = Command::new(bin)
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &addr.to_string()])
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

/// A throwaway `redis-server` for the rate-limited row, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Option<Self> {
        let port = free_port().ok()?;
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|| crate::project_root().join("target"))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
