//! A closed-loop HTTP/1.1 load generator: `conns` keep-alive connections, each sending requests
//! back to back for a fixed time, or (`run_interleaved`) several targets interleaved at concurrency 1.
//! Records whole-request latency and time to first body byte.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One load run's raw results.
#[derive(Debug, Default)]
pub(crate) struct LoadResult {
    /// Whole-request latencies in microseconds, successful requests only.
    pub latencies_us: Vec<u64>,
    /// Time to first body byte in microseconds.
    pub ttfb_us: Vec<u64>,
    /// Requests that failed or were not 2xx.
    pub errors: u64,
    /// Measured wall time.
    pub elapsed: Duration,
}

impl LoadResult {
    pub(crate) fn rps(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Percentile (0..=100) of `v`, which is sorted in place.
pub(crate) fn percentile(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[rank.min(v.len() - 1)]
}

/// Runs `conns` connections against `addr` `path` with `body` for `duration` after `warmup`.
pub(crate) async fn run(
    addr: SocketAddr,
    path: &str,
    body: Bytes,
    conns: usize,
    warmup: Duration,
    duration: Duration,
) -> LoadResult {
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + duration;
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let path = path.to_owned();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            connection(addr, path, body, measure_from, until).await
        }));
    }
    let mut total = LoadResult::default();
    for t in tasks {
        if let Ok(r) = t.await {
            total.latencies_us.extend(r.latencies_us);
            total.ttfb_us.extend(r.ttfb_us);
            total.errors += r.errors;
        }
    }
    total.elapsed = duration;
    total
}

/// One keep-alive HTTP/1.1 connection that reconnects after a failure.
struct Conn {
    addr: SocketAddr,
    path: String,
    body: Bytes,
    sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
}

/// What one request gave: whole latency and time to first body byte, or a failure.
enum Sample {
    Ok { latency: Duration, ttfb: Duration },
    Failed,
}

impl Conn {
    fn new(addr: SocketAddr, path: &str, body: Bytes) -> Self {
        Self {
            addr,
            path: path.to_owned(),
            body,
            sender: None,
        }
    }

    async fn sender(
        &mut self,
    ) -> Option<&mut hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
        if self.sender.is_none() {
            let stream = TcpStream::connect(self.addr).await.ok()?;
            let _ = stream.set_nodelay(true);
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .ok()?;
            tokio::spawn(conn);
            self.sender = Some(sender);
        }
        self.sender.as_mut()
    }

    /// Sends one request and reads the whole body.
    async fn once(&mut self) -> Sample {
        let req = Request::post(&self.path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json")
            .header("authorization", "Bearer bench-key")
            .body(Full::new(self.body.clone()))
            .expect("static request parts are valid");
        let t0 = Instant::now();
        let Some(sender) = self.sender().await else {
            // Don't spin on a refused connect.
            tokio::time::sleep(Duration::from_millis(10)).await;
            return Sample::Failed;
        };
        if sender.ready().await.is_err() {
            self.sender = None;
            return Sample::Failed;
        }
        let Ok(resp) = sender.send_request(req).await else {
            self.sender = None;
            return Sample::Failed;
        };
        let ok = resp.status().is_success();
        let mut body = resp.into_body();
        let mut first = None;
        while let Some(frame) = body.frame().await {
            if frame.is_err() {
                self.sender = None;
                return Sample::Failed;
            }
            first.get_or_insert_with(Instant::now);
        }
        let done = Instant::now();
        if !ok {
            return Sample::Failed;
        }
        Sample::Ok {
            latency: done - t0,
            ttfb: first.unwrap_or(done) - t0,
        }
    }
}

impl LoadResult {
    fn record(&mut self, sample: Sample) {
        match sample {
            Sample::Ok { latency, ttfb } => {
                self.latencies_us.push(latency.as_micros() as u64);
                self.ttfb_us.push(ttfb.as_micros() as u64);
            }
            Sample::Failed => self.errors += 1,
        }
    }
}

async fn connection(
    addr: SocketAddr,
    path: String,
    body: Bytes,
    from: Instant,
    until: Instant,
) -> LoadResult {
    let mut out = LoadResult::default();
    let mut conn = Conn::new(addr, &path, body);
    while Instant::now() < until {
        let started = Instant::now();
        let sample = conn.once().await;
        if started >= from {
            out.record(sample);
        }
    }
    out
}

/// Concurrency 1 against several targets at once: one connection each, one request to each
/// per round, the starting target rotating every round, until `rounds` rounds or `max` time.
///
/// All targets see the same machine at the same moments, so background noise lands on every
/// side of a difference instead of on whichever phase ran while it happened.
pub(crate) async fn run_interleaved(
    targets: &[(SocketAddr, &str, Bytes)],
    warmup: Duration,
    rounds: usize,
    max: Duration,
) -> Vec<LoadResult> {
    let mut conns: Vec<Conn> = targets
        .iter()
        .map(|(addr, path, body)| Conn::new(*addr, path, body.clone()))
        .collect();
    let warm_until = Instant::now() + warmup;
    while Instant::now() < warm_until {
        for c in &mut conns {
            c.once().await;
        }
    }
    let mut out: Vec<LoadResult> = conns.iter().map(|_| LoadResult::default()).collect();
    let start = Instant::now();
    let mut round = 0;
    while round < rounds && start.elapsed() < max {
        for k in 0..conns.len() {
            let i = (round + k) % conns.len();
            let sample = conns[i].once().await;
            out[i].record(sample);
        }
        round += 1;
    }
    for r in &mut out {
        r.elapsed = start.elapsed();
    }
    out
}
