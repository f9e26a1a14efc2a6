//! Log capture for one test: a subscriber on this thread (the test's runtime, where the
//! gateway's tasks run too) writing into a buffer the test reads back.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use routewise_gateway::telemetry::{ACCESS_TARGET, JsonLines};
use serde_json::Value;
use tracing::Level;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

/// Captured log output.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Every access event so far, as JSON objects (with [`capture_json`]).
    pub fn access(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["target"] == ACCESS_TARGET)
            .collect()
    }

    /// Waits (up to 5 s) for the access event of the request with this id.
    pub async fn event_for(&self, request_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(ev) = self
                .access()
                .into_iter()
                .find(|v| v["routewise.request_id"] == request_id)
            {
                return ev;
            }
            assert!(
                Instant::now() < deadline,
                "no access event for {request_id} in:\n{}",
                self.text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Tests in one binary share tracing's callsite interest: a callsite first hit while no
/// subscriber wanted it stays disabled. With a second dispatcher alive, interest is the union
/// of all dispatchers, so this thread's subscriber sees every event (see
/// `routewise-transport`'s test support).
fn share_callsite_interest() {
    static SECOND: OnceLock<tracing::Dispatch> = OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

/// Captures plain-text logs up to `level` on this thread until the guard drops.
pub fn capture_text(level: Level) -> (Capture, DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(level)
        .with_ansi(false)
        .finish();
    share_callsite_interest();
    (capture, tracing::subscriber::set_default(subscriber))
}

/// Captures JSON-lines logs (the gateway's `--log-format json`) up to DEBUG on this thread.
pub fn capture_json() -> (Capture, DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .event_format(JsonLines)
        .with_writer(capture.clone())
        .with_max_level(Level::DEBUG)
        .finish();
    share_callsite_interest();
    (capture, tracing::subscriber::set_default(subscriber))
}
