//! A closed-loop HTTP/1.1 load generator: `conns` keep-alive connections, each sending requests
//! back to back for a fixed time. Records whole-request latency and time to first body byte.

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

async fn connection(
    addr: SocketAddr,
    path: String,
    body: Bytes,
    from: Instant,
    until: Instant,
) -> LoadResult {
    let mut out = LoadResult::default();
    'reconnect: while Instant::now() < until {
        let Ok(stream) = TcpStream::connect(addr).await else {
            out.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            out.errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < until {
            let req = Request::post(&path)
                .header("host", addr.to_string())
                .header("content-type", "application/json")
                .header("authorization", "Bearer bench-key")
                .body(Full::new(body.clone()))
                .expect("static request parts are valid");
            let t0 = Instant::now();
            if sender.ready().await.is_err() {
                out.errors += 1;
                continue 'reconnect;
            }
            let Ok(resp) = sender.send_request(req).await else {
                out.errors += 1;
                continue 'reconnect;
            };
            let ok = resp.status().is_success();
            let mut body = resp.into_body();
            let mut first = None;
            let mut failed = false;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(_) => {
                        first.get_or_insert_with(Instant::now);
                    }
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            let done = Instant::now();
            if t0 < from {
                continue;
            }
            if !ok || failed {
                out.errors += 1;
                continue;
            }
            out.latencies_us.push((done - t0).as_micros() as u64);
            out.ttfb_us
                .push((first.unwrap_or(done) - t0).as_micros() as u64);
        }
    }
    out
}
