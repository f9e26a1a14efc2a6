//! A closed-loop HTTP/1.1 load generator: `conns` keep-alive connections, each sending requests
//! back to back for a fixed time, or (`run_interleaved`) several targets interleaved at concurrency 1.
//! Records whole-request latency and time to first body byte; anything but a complete 2xx
//! answer is an error, never a latency sample.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What a load sends: `POST path` with `body` to `addr`. The request head (URI and headers) is
/// built once, so extra headers cost a target nothing per request beyond the copy every target
/// makes.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    addr: SocketAddr,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Target {
    /// `host`, `content-type: application/json` and `authorization: Bearer bench-key` (what an
    /// SDK sends; ignored where access control is off).
    pub(crate) fn new(addr: SocketAddr, path: &'static str, body: Bytes) -> Self {
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(
            header::HOST,
            HeaderValue::from_str(&addr.to_string()).expect("a socket address is a header value"),
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer bench-key"),
        );
        Self {
            addr,
            uri: Uri::from_static(path),
            headers,
            body,
        }
    }

    /// This target with `name: value` (replacing a header of that name).
    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Result<Self> {
        let value =
            HeaderValue::from_str(value).with_context(|| format!("a value for header {name}"))?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    /// This target without the header `name`.
    pub(crate) fn without(mut self, name: HeaderName) -> Self {
        self.headers.remove(name);
        self
    }

    /// This target with another body.
    pub(crate) fn with_body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// One load run's raw results.
#[derive(Debug, Default)]
pub(crate) struct LoadResult {
    /// Whole-request latencies in microseconds, successful requests only.
    pub latencies_us: Vec<u64>,
    /// Time to first body byte in microseconds.
    pub ttfb_us: Vec<u64>,
    /// Requests that failed or were not 2xx.
    pub errors: u64,
    /// What the first of them was (a status, or where the exchange broke).
    pub first_error: Option<String>,
    /// Measured wall time.
    pub elapsed: Duration,
}

impl LoadResult {
    pub(crate) fn rps(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The errors, said in a few words: `0`, or e.g. `12 (first: HTTP 401)`.
    pub(crate) fn error_summary(&self) -> String {
        match &self.first_error {
            Some(first) if self.errors > 0 => format!("{} (first: {first})", self.errors),
            _ => self.errors.to_string(),
        }
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

/// Runs `conns` connections against `target` for `duration` after `warmup`.
pub(crate) async fn run(
    target: &Target,
    conns: usize,
    warmup: Duration,
    duration: Duration,
) -> LoadResult {
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + duration;
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            connection(target, measure_from, until).await
        }));
    }
    let mut total = LoadResult::default();
    for t in tasks {
        match t.await {
            Ok(r) => {
                total.latencies_us.extend(r.latencies_us);
                total.ttfb_us.extend(r.ttfb_us);
                total.errors += r.errors;
                if total.first_error.is_none() {
                    total.first_error = r.first_error;
                }
            }
            // A connection task that died is its requests lost: an error, not silence.
            Err(e) => {
                total.errors += 1;
                total
                    .first_error
                    .get_or_insert_with(|| format!("load task: {e}"));
            }
        }
    }
    total.elapsed = duration;
    total
}

/// One request to `target` on a fresh connection: its status once the whole body is read.
pub(crate) async fn probe(target: &Target) -> Result<StatusCode, String> {
    let mut conn = Conn::new(target.clone());
    match conn.exchange().await {
        Ok((status, ..)) => Ok(status),
        Err(Failure::Status(status)) => Ok(status),
        Err(other) => Err(other.to_string()),
    }
}

/// One keep-alive HTTP/1.1 connection that reconnects after a failure.
struct Conn {
    target: Target,
    sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
}

/// What one request gave: whole latency and time to first body byte, or a failure.
enum Sample {
    Ok { latency: Duration, ttfb: Duration },
    Failed(Failure),
}

/// Why a request is not a sample.
enum Failure {
    Connect,
    Send,
    Body,
    Status(StatusCode),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect => f.write_str("connect failed"),
            Self::Send => f.write_str("request failed"),
            Self::Body => f.write_str("body broke off"),
            Self::Status(s) => write!(f, "HTTP {}", s.as_u16()),
        }
    }
}

impl Conn {
    fn new(target: Target) -> Self {
        Self {
            target,
            sender: None,
        }
    }

    async fn sender(
        &mut self,
    ) -> Option<&mut hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
        if self.sender.is_none() {
            let stream = TcpStream::connect(self.target.addr).await.ok()?;
            let _ = stream.set_nodelay(true);
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .ok()?;
            tokio::spawn(conn);
            self.sender = Some(sender);
        }
        self.sender.as_mut()
    }

    /// Sends one request and reads the whole body: a sample only if the answer is a 2xx.
    async fn once(&mut self) -> Sample {
        match self.exchange().await {
            Ok((_, latency, ttfb)) => Sample::Ok { latency, ttfb },
            Err(failure) => Sample::Failed(failure),
        }
    }

    /// One whole exchange: a 2xx status with latency and time to first body byte, or why not.
    async fn exchange(&mut self) -> Result<(StatusCode, Duration, Duration), Failure> {
        let req = self.target.request();
        let t0 = Instant::now();
        let Some(sender) = self.sender().await else {
            // Don't spin on a refused connect.
            tokio::time::sleep(Duration::from_millis(10)).await;
            return Err(Failure::Connect);
        };
        if sender.ready().await.is_err() {
            self.sender = None;
            return Err(Failure::Send);
        }
        let Ok(resp) = sender.send_request(req).await else {
            self.sender = None;
            return Err(Failure::Send);
        };
        let status = resp.status();
        let mut body = resp.into_body();
        let mut first = None;
        while let Some(frame) = body.frame().await {
            if frame.is_err() {
                self.sender = None;
                return Err(Failure::Body);
            }
            first.get_or_insert_with(Instant::now);
        }
        let done = Instant::now();
        if !status.is_success() {
            return Err(Failure::Status(status));
        }
        Ok((status, done - t0, first.unwrap_or(done) - t0))
    }
}

impl LoadResult {
    fn record(&mut self, sample: Sample) {
        match sample {
            Sample::Ok { latency, ttfb } => {
                self.latencies_us.push(latency.as_micros() as u64);
                self.ttfb_us.push(ttfb.as_micros() as u64);
            }
            Sample::Failed(failure) => {
                self.errors += 1;
                self.first_error.get_or_insert_with(|| failure.to_string());
            }
        }
    }
}

async fn connection(target: Target, from: Instant, until: Instant) -> LoadResult {
    let mut out = LoadResult::default();
    let mut conn = Conn::new(target);
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
    targets: &[Target],
    warmup: Duration,
    rounds: usize,
    max: Duration,
) -> Vec<LoadResult> {
    let mut conns: Vec<Conn> = targets.iter().cloned().map(Conn::new).collect();
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
