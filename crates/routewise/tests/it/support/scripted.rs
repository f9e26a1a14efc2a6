//! A tiny scripted HTTP/1.1 server for cases wiremock cannot express: timed chunks, streams that
//! stop mid-way, responses that never come. Each connection serves one request and closes, so a
//! body may end at any byte.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `POST /openai/v1/responses`
    pub method: String,
    /// The request path.
    pub path: String,
    /// Lower-cased header names and their values.
    pub headers: Vec<(String, String)>,
    /// The body, parsed as JSON when it is JSON.
    pub body: serde_json::Value,
}

impl Seen {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request's `model`.
    pub fn model(&self) -> &str {
        self.body["model"].as_str().unwrap_or_default()
    }
}

/// What to send back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response with a status, extra headers and a body.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// A 200 `text/event-stream` whose body is written in these chunks, each after its delay;
    /// the connection closes after the last one.
    Chunks(Vec<(Duration, String)>),
    /// Waits this long before closing without a response.
    Hang(Duration),
}

impl Reply {
    /// A JSON response.
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::Full {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// An SSE stream written in one chunk.
    pub fn sse(body: impl Into<String>) -> Self {
        Self::Chunks(vec![(Duration::ZERO, body.into())])
    }
}

type Script = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A running scripted server.
pub struct ScriptedServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    /// Starts a server that answers each request with `script(request)`.
    pub async fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let script: Arc<Script> = Arc::new(script);
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    continue;
                };
                let script = script.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, &*script).await;
                });
            }
        });
        Self { addr, task }
    }

    /// `http://127.0.0.1:<port>`
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut conn: TcpStream, script: &Script) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let header_end = loop {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[header_end..]).unwrap_or(serde_json::Value::Null);
    let seen = Seen {
        method,
        path,
        headers,
        body,
    };
    match script(&seen) {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (n, v) in headers {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            conn.write_all(out.as_bytes()).await?;
        }
        Reply::Chunks(chunks) => {
            conn.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
            )
            .await?;
            for (delay, chunk) in chunks {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                conn.write_all(chunk.as_bytes()).await?;
                conn.flush().await?;
            }
        }
        Reply::Hang(d) => tokio::time::sleep(d).await,
    }
    conn.shutdown().await
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
