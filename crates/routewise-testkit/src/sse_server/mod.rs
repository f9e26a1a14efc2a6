//! [`SseFaultServer`]: a small hyper server that sends scripted bodies in
//! timed chunks, which wiremock cannot do.

mod script;

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

pub use script::Script;
use script::Step;

use crate::ReceivedRequest;

type Body = UnsyncBoxBody<Bytes, io::Error>;

/// How the body of one scripted response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamOutcome {
    /// Every chunk of the script was handed to the connection.
    Completed,
    /// The script dropped the connection on purpose.
    Dropped,
    /// The body was abandoned before the script finished: the client went
    /// away, a stall was interrupted, or the server shut down.
    Abandoned,
}

impl StreamOutcome {
    /// `true` for [`StreamOutcome::Completed`].
    pub fn is_completed(self) -> bool {
        self == Self::Completed
    }

    /// `true` for [`StreamOutcome::Dropped`].
    pub fn is_dropped(self) -> bool {
        self == Self::Dropped
    }

    /// `true` for [`StreamOutcome::Abandoned`].
    pub fn is_abandoned(self) -> bool {
        self == Self::Abandoned
    }
}

#[derive(Default)]
struct Log {
    received: Vec<ReceivedRequest>,
    outcomes: Vec<Option<StreamOutcome>>,
}

struct Shared {
    scripts: Vec<Script>,
    log: Mutex<Log>,
    outcome_changed: Notify,
}

impl Shared {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record_outcome(&self, index: usize, outcome: StreamOutcome) {
        if let Some(slot) = self.log().outcomes.get_mut(index) {
            *slot = Some(outcome);
        }
        self.outcome_changed.notify_waiters();
    }
}

/// A scripted HTTP/1.1 server on `127.0.0.1:0` for stream faults: slow
/// frames, connections dropped mid-stream (optionally mid-frame), stalls
/// after the headers, and 200 streams that fail in-band.
///
/// Request *k* (0-based, in arrival order) gets script *k*; later requests
/// get the last script. Any method and path is answered, so a client can use
/// [`openai_base_url`](Self::openai_base_url) as its base URL. Accepted
/// sockets have `TCP_NODELAY`, so each chunk leaves as soon as it is written.
/// The server shuts down, closing every connection, when dropped.
///
/// ```
/// use std::time::Duration;
/// use routewise_testkit::{Script, SseFaultServer, fixtures};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let server = SseFaultServer::start_sequence([
///     Script::from_sse_body(fixtures::HELLO_STREAM).drop_after_frames(4),
///     Script::from_sse_body(fixtures::HELLO_STREAM).frame_delay(Duration::from_millis(1)),
/// ])
/// .await?;
/// assert!(server.responses_url().ends_with("/openai/v1/responses"));
/// assert_eq!(server.request_count(), 0);
/// # Ok(())
/// # }
/// ```
pub struct SseFaultServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_loop: JoinHandle<()>,
}

impl fmt::Debug for SseFaultServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseFaultServer")
            .field("addr", &self.addr)
            .field("scripts", &self.shared.scripts.len())
            .finish_non_exhaustive()
    }
}

impl SseFaultServer {
    /// Starts a server that answers every request with `script`.
    ///
    /// # Errors
    /// When the local socket cannot be bound.
    pub async fn start(script: Script) -> io::Result<Self> {
        Self::start_sequence([script]).await
    }

    /// Starts a server that answers request *k* with script *k* (the last
    /// script repeats).
    ///
    /// # Errors
    /// `InvalidInput` for an empty list; otherwise when the local socket
    /// cannot be bound.
    pub async fn start_sequence(scripts: impl IntoIterator<Item = Script>) -> io::Result<Self> {
        let scripts: Vec<Script> = scripts.into_iter().collect();
        if scripts.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "SseFaultServer needs at least one script",
            ));
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            scripts,
            log: Mutex::new(Log::default()),
            outcome_changed: Notify::new(),
        });
        let accept_loop = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self {
            addr,
            shared,
            accept_loop,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `{url}/openai/v1`, for clients configured with a v1 base URL.
    pub fn openai_base_url(&self) -> String {
        format!("{}/openai/v1", self.url())
    }

    /// `{url}/openai/v1/responses`.
    pub fn responses_url(&self) -> String {
        format!("{}/responses", self.openai_base_url())
    }

    /// Requests received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.shared.log().received.clone()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.shared.log().received.len()
    }

    /// How the body for request `index` ended, if it has.
    pub fn outcome(&self, index: usize) -> Option<StreamOutcome> {
        self.shared.log().outcomes.get(index).copied().flatten()
    }

    /// Waits until the body for request `index` has ended. Wrap in
    /// `tokio::time::timeout` when the request may never arrive.
    pub async fn wait_for_outcome(&self, index: usize) -> StreamOutcome {
        loop {
            let changed = self.shared.outcome_changed.notified();
            tokio::pin!(changed);
            // Register before checking so a notification in between is kept.
            changed.as_mut().enable();
            if let Some(outcome) = self.outcome(index) {
                return outcome;
            }
            changed.await;
        }
    }
}

impl Drop for SseFaultServer {
    fn drop(&mut self) {
        // Aborting the loop drops its JoinSet, which aborts every connection.
        self.accept_loop.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                connections.spawn(serve_connection(stream, shared.clone()));
            }
            // Out of file descriptors and similar: back off instead of spinning.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    // Best effort: without NODELAY chunks may merge, which only weakens timing.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| respond(req, shared.clone()));
    // Connection errors (client reset, scripted drop) end this connection only.
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn respond(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let received = ReceivedRequest::new(
        parts.method,
        parts.uri.path(),
        parts.uri.query(),
        parts.headers,
        body,
    );
    let index = {
        let mut log = shared.log();
        log.received.push(received);
        log.outcomes.push(None);
        log.received.len() - 1
    };
    let script = shared
        .scripts
        .get(index)
        .or_else(|| shared.scripts.last())
        .cloned()
        .unwrap_or_else(|| Script::status(500));

    let mut response = Response::builder().status(script.status);
    for (name, value) in &script.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    let guard = OutcomeGuard {
        shared,
        index,
        outcome: StreamOutcome::Abandoned,
    };
    let body = StreamBody::new(futures_util::stream::unfold(
        (script.steps.into_iter(), guard),
        next_frame,
    ));
    Ok(response
        .body(BodyExt::boxed_unsync(body))
        .unwrap_or_else(|_| invalid_script_response()))
}

/// A script with a header hyper rejects cannot be sent as written; answer 500
/// with a reason instead of panicking inside the server.
fn invalid_script_response() -> Response<Body> {
    let mut r = Response::new(BodyExt::boxed_unsync(
        http_body_util::Full::new(Bytes::from_static(b"invalid script: bad status or header"))
            .map_err(|never| match never {}),
    ));
    *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    r
}

type StepState = (std::vec::IntoIter<Step>, OutcomeGuard);

async fn next_frame(
    (mut steps, mut guard): StepState,
) -> Option<(io::Result<Frame<Bytes>>, StepState)> {
    match steps.next() {
        Some(Step::Send { delay, bytes }) => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Some((Ok(Frame::data(bytes)), (steps, guard)))
        }
        Some(Step::Drop) => {
            // Return Pending once so hyper flushes what is buffered before the
            // error aborts the connection; otherwise the client could see less
            // than the script sent.
            tokio::task::yield_now().await;
            guard.outcome = StreamOutcome::Dropped;
            let err = io::Error::new(io::ErrorKind::ConnectionAborted, "scripted connection drop");
            Some((Err(err), (steps, guard)))
        }
        Some(Step::Stall) => {
            futures_util::future::pending::<()>().await;
            None
        }
        None => {
            guard.outcome = StreamOutcome::Completed;
            None
        }
    }
}

/// Records how a body ended when hyper drops it.
struct OutcomeGuard {
    shared: Arc<Shared>,
    index: usize,
    outcome: StreamOutcome,
}

impl Drop for OutcomeGuard {
    fn drop(&mut self) {
        self.shared.record_outcome(self.index, self.outcome);
    }
}
