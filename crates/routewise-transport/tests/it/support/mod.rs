//! A local HTTP/1.1 server on hyper for the transport tests: echo, chunked streaming gated by the
//! test, a hang before headers, a stall mid-body and redirects; it counts what it received.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use routewise_transport::{ResponseBody, body};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// A running test server.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Releases the second chunk of `/stream`.
    pub release: Arc<Notify>,
    received: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// How many requests arrived so far.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }
}

pub async fn spawn() -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let release = Arc::new(Notify::new());
    let received = Arc::new(AtomicUsize::new(0));
    let gate = release.clone();
    let counter = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let gate = gate.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    handle(req, gate.clone())
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    TestServer {
        addr,
        release,
        received,
    }
}

async fn handle(
    req: http::Request<Incoming>,
    gate: Arc<Notify>,
) -> Result<http::Response<ResponseBody>, Infallible> {
    let res = http::Response::builder();
    let res = match req.uri().path() {
        "/echo" => {
            let method = req.method().to_string();
            let custom = req.headers().get("x-custom").cloned();
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let mut res = res.header("x-echo-method", method);
            if let Some(custom) = custom {
                res = res.header("x-echo-custom", custom);
            }
            res.body(body::full(body))
        }
        "/stream" => {
            let chunks = futures_util::stream::unfold(0u8, move |step| {
                let gate = gate.clone();
                async move {
                    let chunk = match step {
                        0 => "event: one\ndata: 1\n\n",
                        1 => {
                            gate.notified().await;
                            "event: two\ndata: 2\n\n"
                        }
                        _ => return None,
                    };
                    Some((
                        Ok::<_, Infallible>(Bytes::from_static(chunk.as_bytes())),
                        step + 1,
                    ))
                }
            });
            res.header("content-type", "text/event-stream")
                .body(body::from_stream(chunks))
        }
        "/hang" => {
            std::future::pending::<()>().await;
            res.body(body::empty())
        }
        "/stall" => {
            let chunks = futures_util::stream::unfold(false, |sent| async move {
                if sent {
                    std::future::pending::<()>().await;
                }
                Some((
                    Ok::<_, Infallible>(Bytes::from_static(b"data: first\n\n")),
                    true,
                ))
            });
            res.header("content-type", "text/event-stream")
                .body(body::from_stream(chunks))
        }
        // `/redirect/<status>/<port>`: to `/echo` on another local port.
        path if path.starts_with("/redirect/") => {
            let mut parts = path.trim_start_matches("/redirect/").split('/');
            let status = parts
                .next()
                .and_then(|s| s.parse::<u16>().ok())
                .unwrap_or(307);
            let port = parts.next().unwrap_or_default();
            res.status(status)
                .header("location", format!("http://127.0.0.1:{port}/echo"))
                .body(body::empty())
        }
        _ => res
            .status(404)
            .body(body::full("<html><body>Not Found</body></html>")),
    };
    Ok(res.unwrap_or_else(|_| http::Response::new(body::empty())))
}

/// An address where nothing listens.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// Makes a thread-scoped subscriber see every callsite, even in a binary whose other tests
/// run without one.
///
/// tracing caches each callsite's interest process-wide; while only one dispatcher exists it
/// asks the *calling thread's* default, so a callsite first hit by a concurrent test (no
/// subscriber) stays disabled for ours. A second, process-lifetime dispatcher makes tracing
/// combine the interest of every live dispatcher instead.
pub fn share_callsite_interest() {
    static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}
