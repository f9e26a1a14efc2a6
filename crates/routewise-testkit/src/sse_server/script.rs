//! [`Script`]: what the fault server sends for one request.

use std::time::Duration;

use bytes::Bytes;

use crate::ErrorReply;
use crate::fixtures::{self, split_frames, sse_body};

/// One step of a scripted response body.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Wait `delay`, then send `bytes` as one body chunk.
    Send { delay: Duration, bytes: Bytes },
    /// Abort the connection, leaving the body truncated.
    Drop,
    /// Send nothing more and never finish.
    Stall,
}

/// The scripted answer to one request: status, headers and a body sent in
/// timed chunks, optionally ending in a dropped connection or a stall.
///
/// ```
/// use std::time::Duration;
/// use routewise_testkit::{Script, fixtures};
///
/// // The digest's stream, 20 ms between frames, cut in the middle of frame 4.
/// let script = Script::from_sse_body(fixtures::HELLO_STREAM)
///     .frame_delay(Duration::from_millis(20))
///     .drop_mid_frame(4);
/// assert_eq!(script.frame_count(), 5);
/// ```
#[derive(Debug, Clone)]
pub struct Script {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) steps: Vec<Step>,
}

impl Script {
    /// A response with `status` and no headers or body yet.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// A `200 text/event-stream` response with no frames yet.
    pub fn sse() -> Self {
        Self::status(200)
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache")
            .header("x-accel-buffering", "no")
    }

    /// [`Script::sse`] with each frame of `body` (split on blank lines) as
    /// its own chunk.
    pub fn from_sse_body(body: &str) -> Self {
        split_frames(body)
            .into_iter()
            .fold(Self::sse(), |s, frame| s.frame(frame.to_owned()))
    }

    /// [`Script::sse`] with one chunk per event, rendered by
    /// [`sse_body`](crate::fixtures::sse_body).
    pub fn from_events<I>(events: I) -> Self
    where
        I: IntoIterator,
        I::Item: serde::Serialize,
    {
        events
            .into_iter()
            .fold(Self::sse(), |s, e| s.frame(sse_body([e])))
    }

    /// The Azure in-band failure: a 200 stream of `response.created`,
    /// `response.in_progress`, `response.failed`, then an `error` frame.
    pub fn in_band_failure() -> Self {
        Self::from_sse_body(fixtures::IN_BAND_FAILURE_STREAM)
    }

    /// The Azure content-filtered 200 stream (three frames).
    pub fn content_filtered() -> Self {
        Self::from_sse_body(fixtures::CONTENT_FILTERED_STREAM)
    }

    /// The error reply's status, headers and body.
    pub fn error(reply: &ErrorReply) -> Self {
        let mut s = Self::status(reply.status()).header("content-type", reply.content_type());
        for (name, value) in reply.headers() {
            s = s.header(name, value.as_str());
        }
        s.frame(reply.body_bytes())
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sends `bytes` right after the previous step.
    pub fn frame(self, bytes: impl Into<Bytes>) -> Self {
        self.frame_after(Duration::ZERO, bytes)
    }

    /// Waits `delay`, then sends `bytes`.
    pub fn frame_after(mut self, delay: Duration, bytes: impl Into<Bytes>) -> Self {
        self.steps.push(Step::Send {
            delay,
            bytes: bytes.into(),
        });
        self
    }

    /// Puts `delay` before every chunk added so far (a slow stream).
    pub fn frame_delay(mut self, delay: Duration) -> Self {
        for step in &mut self.steps {
            if let Step::Send { delay: d, .. } = step {
                *d = delay;
            }
        }
        self
    }

    /// Aborts the connection after the steps so far.
    pub fn drop_connection(mut self) -> Self {
        self.steps.push(Step::Drop);
        self
    }

    /// Keeps the first `n` chunks, then aborts the connection.
    pub fn drop_after_frames(mut self, n: usize) -> Self {
        self.truncate_to(n);
        self.drop_connection()
    }

    /// Keeps the first `n` chunks and the first half of chunk `n`, then
    /// aborts the connection: the client sees a frame cut mid-way.
    pub fn drop_mid_frame(mut self, n: usize) -> Self {
        let partial = self.sends().nth(n).map(|(delay, bytes)| {
            let half = bytes.len() / 2;
            Step::Send {
                delay,
                bytes: bytes.slice(..half.max(1).min(bytes.len())),
            }
        });
        self.truncate_to(n);
        self.steps.extend(partial);
        self.drop_connection()
    }

    /// Sends nothing more after the steps so far, and never finishes.
    pub fn stall(mut self) -> Self {
        self.steps.push(Step::Stall);
        self
    }

    /// Keeps the first `n` chunks, then stalls (`n = 0`: headers only).
    pub fn stall_after_frames(mut self, n: usize) -> Self {
        self.truncate_to(n);
        self.stall()
    }

    /// Number of body chunks the script sends.
    pub fn frame_count(&self) -> usize {
        self.sends().count()
    }

    /// HTTP status the script answers with.
    pub fn status_code(&self) -> u16 {
        self.status
    }

    fn sends(&self) -> impl Iterator<Item = (Duration, Bytes)> + '_ {
        self.steps.iter().filter_map(|s| match s {
            Step::Send { delay, bytes } => Some((*delay, bytes.clone())),
            _ => None,
        })
    }

    /// Keeps the first `n` send steps (and anything between them).
    fn truncate_to(&mut self, n: usize) {
        let mut seen = 0;
        let end = self
            .steps
            .iter()
            .position(|s| {
                if matches!(s, Step::Send { .. }) {
                    seen += 1;
                }
                seen > n
            })
            .unwrap_or(self.steps.len());
        self.steps.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sent(script: &Script) -> String {
        script
            .sends()
            .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    #[test]
    fn from_body_keeps_every_frame() {
        let s = Script::from_sse_body(fixtures::HELLO_STREAM);
        assert_eq!(s.frame_count(), 10);
        assert_eq!(sent(&s), fixtures::HELLO_STREAM);
        assert_eq!(s.status_code(), 200);
    }

    #[test]
    fn truncation_variants() {
        let s = Script::from_sse_body(fixtures::HELLO_STREAM);
        let dropped = s.clone().drop_after_frames(3);
        assert_eq!(dropped.frame_count(), 3);
        assert!(matches!(dropped.steps.last(), Some(Step::Drop)));

        let mid = s.clone().drop_mid_frame(3);
        assert_eq!(mid.frame_count(), 4);
        let text = sent(&mid);
        assert!(fixtures::HELLO_STREAM.starts_with(&text));
        assert!(
            !text.ends_with("\n\n"),
            "last chunk should be a partial frame"
        );

        let stalled = s.stall_after_frames(0);
        assert_eq!(stalled.frame_count(), 0);
        assert!(matches!(stalled.steps.as_slice(), [Step::Stall]));
    }

    #[test]
    fn delays_and_events() {
        let s = Script::from_events([json!({"type": "a"}), json!({"type": "b"})])
            .frame_delay(Duration::from_millis(5));
        assert!(s.sends().all(|(d, _)| d == Duration::from_millis(5)));
        assert_eq!(
            sent(&s),
            "event: a\ndata: {\"type\":\"a\"}\n\nevent: b\ndata: {\"type\":\"b\"}\n\n"
        );
    }

    #[test]
    fn error_script_copies_reply() {
        let s = Script::error(&ErrorReply::bad_gateway_html());
        assert_eq!(s.status_code(), 502);
        assert!(
            s.headers
                .contains(&("content-type".to_owned(), "text/html".to_owned()))
        );
        assert!(sent(&s).contains("502 Bad Gateway"));
    }
}
