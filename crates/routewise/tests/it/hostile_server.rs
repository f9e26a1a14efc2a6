//! A broken or hostile server must never make the client panic or hang: every call ends, in
//! bounded time, with `Ok` or a typed error that says something. Two thousand deterministic
//! cases (fixed seed) of damaged JSON bodies, error bodies, headers and event streams, each
//! served by its own `SseFaultServer` (which sends any bytes, cuts and stalls), each run in its
//! own task so that a panic is caught and reported with the case's name.

mod create_cases;
mod mutate;
mod regressions;
mod stream_cases;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use routewise::{Client, Error, ErrorKind};
use routewise_testkit::{Script, SseFaultServer};
use routewise_transport::{ReqwestTransport, SharedTransport};
use routewise_types::CreateResponse;
use serde_json::Value;

/// Far above any case's own timeouts (header 2 s, idle 1 s), so only a real hang trips it.
const CASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Cases in flight at once: stalls overlap instead of adding up, two cores stay busy.
const CONCURRENCY: usize = 8;

/// The client's limit on an error body (`exchange.rs`): past it the body is not read.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The fixed seed; change it to explore, keep it fixed to replay.
const SEED: u64 = 0x5eed_f00d_2025;

/// Which call a case exercises.
#[derive(Debug, Clone, Copy)]
enum Call {
    Create,
    Stream,
}

/// What a case must end with, beyond "in time, without a panic, with a non-empty message".
#[derive(Clone)]
enum Expect {
    /// Anything but a panic or a hang.
    Any,
    /// A success.
    Success,
    /// An error of one of these kinds.
    KindIn(&'static [ErrorKind]),
    /// A success, or an error of one of these kinds (what a damaged 200 stream may end with).
    OkOrKindIn(&'static [ErrorKind]),
    /// An error this predicate accepts (named in the case), for the unambiguous cases.
    Error(fn(&Error) -> bool),
    /// The error for a non-success status: that status, its SDK kind, and the server's words.
    Status(u16, Kept),
}

/// A failure report names the predicate by its case, not by its address.
impl fmt::Debug for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("Any"),
            Self::Success => f.write_str("Success"),
            Self::KindIn(kinds) => write!(f, "an error of kind {kinds:?}"),
            Self::OkOrKindIn(kinds) => write!(f, "Ok or an error of kind {kinds:?}"),
            Self::Error(_) => f.write_str("the error the case's name describes"),
            Self::Status(status, kept) => write!(f, "HTTP {status} keeping {kept:?}"),
        }
    }
}

/// What of an error body the client must keep.
#[derive(Debug, Clone, PartialEq)]
enum Kept {
    /// The envelope's (or the flat form's, or a string `error`'s) non-empty message.
    Message(String),
    /// A snippet of a body that is not JSON.
    Snippet,
    /// Nothing in particular: no message in it, or past the error-body limit.
    Nothing,
}

/// One hostile answer and what the client must make of it.
struct Case {
    name: String,
    call: Call,
    script: Script,
    expect: Expect,
}

impl Case {
    fn new(name: impl Into<String>, call: Call, script: Script, expect: Expect) -> Self {
        Self {
            name: name.into(),
            call,
            script,
            expect,
        }
    }
}

/// How a call ended once every event was read.
type Ended = Result<(), Error>;

/// The expectation for a whole body sent at once with `status`: by the contract of
/// `Error::from_http` for a failure status; for a success, the body decides between a response
/// and a decode error (nothing else can go wrong with a body that arrives whole).
fn expect_for(status: u16, body: &[u8]) -> Expect {
    if (200..300).contains(&status) {
        return Expect::OkOrKindIn(&[ErrorKind::Decode]);
    }
    Expect::Status(status, kept(body))
}

/// What `Error::from_http` documents it keeps of `body`.
fn kept(body: &[u8]) -> Kept {
    // Past the limit only the start is read: a JSON error cut short is kept as a snippet.
    let body = &body[..body.len().min(ERROR_BODY_LIMIT)];
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let blank = String::from_utf8_lossy(body).trim().is_empty();
        return if blank { Kept::Nothing } else { Kept::Snippet };
    };
    let message = match value.get("error") {
        Some(Value::Object(error)) => error.get("message").and_then(Value::as_str),
        Some(Value::String(message)) => Some(message.as_str()),
        _ => value.get("message").and_then(Value::as_str),
    };
    match message {
        Some(m) if !m.is_empty() => Kept::Message(m.to_owned()),
        _ => Kept::Nothing,
    }
}

/// One reqwest client for every case: building one (TLS roots and all) costs more in a debug
/// build than most cases do. Each case still gets its own `Client` and timeout layers.
fn client(base: &str) -> Client {
    static TRANSPORT: OnceLock<SharedTransport> = OnceLock::new();
    let transport = TRANSPORT.get_or_init(|| Arc::new(ReqwestTransport::new()));
    crate::support::builder(base)
        .shared_transport(transport.clone())
        .max_retries(0)
        .response_header_timeout(Duration::from_secs(2))
        .idle_timeout(Duration::from_secs(1))
        .stream_failure_grace(Duration::from_millis(200))
        .build()
        .expect("client")
}

fn request() -> CreateResponse {
    CreateResponse::new("gpt-4.1-nano", "hi")
}

/// Runs the call and reads a stream to its end, checking the stream's own promises: nothing
/// after an error, and `final_response` agreeing with what was yielded.
async fn call(kind: Call, client: &Client) -> Result<Ended, String> {
    let mut stream = match kind {
        Call::Create => return Ok(client.responses().create(request()).await.map(drop)),
        Call::Stream => match client.responses().stream(request()).await {
            Ok(stream) => stream,
            Err(err) => return Ok(Err(err)),
        },
    };
    let mut yielded: Option<Error> = None;
    while let Some(item) = stream.next().await {
        if let Some(err) = &yielded {
            return Err(format!("an item came after the error {err}"));
        }
        yielded = item.err();
    }
    match (yielded, stream.final_response().await) {
        (None, Ok(_)) => Ok(Ok(())),
        (Some(err), Err(again)) if again.kind() == err.kind() => Ok(Err(err)),
        (None, Err(err)) => Err(format!("a clean end, then final_response failed: {err}")),
        (Some(err), again) => Err(format!(
            "yielded {err}, then final_response gave {:?}",
            again.map(drop)
        )),
    }
}

/// Judges an outcome; every error, whatever the case, must have something to say.
fn verify(expect: &Expect, ended: &Ended) -> Result<(), String> {
    if let Err(err) = ended
        && (err.to_string().is_empty() || err.message().trim().is_empty())
    {
        return Err(format!("an error with nothing to say: {err:?}"));
    }
    let ok = match (expect, ended) {
        (Expect::Any | Expect::Success | Expect::OkOrKindIn(_), Ok(())) => true,
        (Expect::Any, Err(_)) => true,
        (Expect::KindIn(kinds) | Expect::OkOrKindIn(kinds), Err(err)) => {
            kinds.contains(&err.kind())
        }
        (Expect::Error(accepts), Err(err)) => accepts(err),
        (Expect::Status(status, kept), Err(err)) => {
            let code = http::StatusCode::from_u16(*status).expect("status");
            err.status() == Some(code)
                && err.kind() == ErrorKind::from_status(code)
                && match kept {
                    Kept::Message(m) => err.message() == m,
                    Kept::Snippet => err.body_snippet().is_some(),
                    Kept::Nothing => true,
                }
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {expect:?}, got {:?}", ended))
    }
}

/// Serves one case and judges it; `Err` describes the violation.
async fn check(case: Case) -> Result<(), String> {
    let Case {
        name,
        call: kind,
        script,
        expect,
    } = case;
    let server = SseFaultServer::start(script)
        .await
        .map_err(|e| format!("{name}: server: {e}"))?;
    let client = client(&server.openai_base_url());
    let task = tokio::spawn(async move { Box::pin(call(kind, &client)).await });
    let abort = task.abort_handle();
    let ended = match tokio::time::timeout(CASE_TIMEOUT, task).await {
        Err(_) => {
            abort.abort();
            return Err(format!("{name}: no outcome in {CASE_TIMEOUT:?} (hang)"));
        }
        Ok(Err(join)) => return Err(format!("{name}: the client panicked: {join}")),
        Ok(Ok(Err(violation))) => return Err(format!("{name}: {violation}")),
        Ok(Ok(Ok(ended))) => ended,
    };
    verify(&expect, &ended).map_err(|e| format!("{name}: {e}"))?;
    match server.request_count() {
        1 => Ok(()),
        n => Err(format!("{name}: {n} requests with retries off")),
    }
}

/// Runs every case, then fails once, listing each violation.
async fn run_all(label: &str, cases: Vec<Case>) {
    let started = Instant::now();
    let total = cases.len();
    let failures: Vec<String> = futures_util::stream::iter(cases)
        .map(check)
        .buffer_unordered(CONCURRENCY)
        .filter_map(|r| std::future::ready(r.err()))
        .collect()
        .await;
    println!("{label}: {total} cases in {:?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "{} of {total} {label} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Damaged response bodies, error bodies and headers for `create`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_ends_in_time_with_ok_or_a_typed_error() {
    run_all("create", create_cases::all(SEED)).await;
}

/// Damaged event streams, wrong answers to a stream request, stalls and cuts for `stream`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ends_in_time_with_ok_or_a_typed_error() {
    run_all("stream", stream_cases::all(SEED)).await;
}
