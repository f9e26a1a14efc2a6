//! Writing a committed stream to the client, event by event.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::json;

use crate::dispatch::StreamReply;
use crate::finish::Finish;
use crate::telemetry::{Access, Outcome};
use crate::upstream::{EventStream, SseEvent};

struct State {
    head: Vec<SseEvent>,
    rest: Option<EventStream>,
    finish: Arc<Finish>,
    idle: Duration,
    done: bool,
    /// Emitted when the state is dropped: at the end of the stream, or when the client goes
    /// away and hyper drops the body.
    access: Access,
}

/// The response body: the held-back head in one chunk, then each live event as it arrives.
/// An upstream that breaks or goes idle for `idle` after the first delta ends the stream with
/// an `error` event (no failover once content has reached the client). `access` is completed
/// from the events sent (first delta, usage of the terminal event) and emitted at the end.
pub(crate) fn body(reply: StreamReply, idle: Duration, mut access: Access) -> Body {
    // Until the stream reaches its end, dropping it means the client went away.
    access.outcome = Some(Outcome::ClientDisconnected);
    let state = State {
        head: reply.head,
        rest: reply.rest,
        finish: reply.finish,
        idle,
        done: false,
        access,
    };
    let frames = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        if !st.head.is_empty() {
            let mut buf = BytesMut::with_capacity(st.head.iter().map(|e| e.data.len() + 32).sum());
            for ev in std::mem::take(&mut st.head) {
                render(&mut buf, &ev, &st.finish, &mut st.access).await;
            }
            st.first_byte();
            return Some((Ok::<_, Infallible>(buf.freeze()), st));
        }
        let Some(rest) = st.rest.as_mut() else {
            st.ended();
            return None;
        };
        let frame = match tokio::time::timeout(st.idle, rest.next()).await {
            Ok(Some(Ok(ev))) => {
                let mut buf = BytesMut::with_capacity(ev.data.len() + ev.ty.len() + 16);
                render(&mut buf, &ev, &st.finish, &mut st.access).await;
                buf.freeze()
            }
            Ok(Some(Err(failure))) => {
                st.done = true;
                st.broken("server_error");
                error_frame("server_error", failure.message())
            }
            Ok(None) => {
                st.ended();
                return None;
            }
            Err(_) => {
                st.done = true;
                st.broken("timeout");
                error_frame("timeout", "The upstream stream went idle.")
            }
        };
        st.first_byte();
        Some((Ok(frame), st))
    });
    Body::from_stream(frames)
}

impl State {
    fn first_byte(&mut self) {
        if self.access.first_byte.is_none() {
            self.access.first_byte = Some(self.access.elapsed());
        }
    }

    /// The upstream's stream ended: the outcome is what its events said.
    fn ended(&mut self) {
        let seen = &self.access.seen;
        self.access.outcome = Some(match (seen.status.as_deref(), &seen.error_code) {
            (Some("completed"), _) => Outcome::Completed,
            (Some("incomplete"), _) => Outcome::Incomplete,
            (Some(_), _) | (None, Some(_)) => Outcome::Failed,
            // Ended without a terminal event.
            (None, None) => Outcome::StreamError,
        });
    }

    /// The gateway ends the stream with its own `error` event.
    fn broken(&mut self, code: &'static str) {
        self.access.outcome = Some(Outcome::StreamError);
        self.access.error_code = Some(code.into());
    }
}

/// Encodes one event as `finish` shapes it, noting the first content delta.
async fn render(buf: &mut BytesMut, ev: &SseEvent, finish: &Finish, access: &mut Access) {
    if access.first_token.is_none() && ev.ty.ends_with(".delta") {
        access.first_token = Some(access.elapsed());
    }
    let shaped = finish.event(ev, &mut access.seen).await;
    encode(buf, &ev.ty, shaped.as_ref().unwrap_or(&ev.data));
}

/// The headers of every event-stream answer.
pub(crate) fn event_stream_headers(h: &mut http::HeaderMap) {
    use http::{HeaderValue, header};
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
}

pub(crate) fn encode(buf: &mut BytesMut, ty: &str, data: &[u8]) {
    buf.put_slice(b"event: ");
    buf.put_slice(ty.as_bytes());
    buf.put_u8(b'\n');
    // Multi-line data (never produced by JSON encoders, but legal SSE) keeps its framing.
    for line in data.split(|b| *b == b'\n') {
        buf.put_slice(b"data: ");
        buf.put_slice(line);
        buf.put_u8(b'\n');
    }
    buf.put_u8(b'\n');
}

pub(crate) fn error_frame(code: &str, message: &str) -> Bytes {
    let data = json!({"type": "error", "code": code, "message": message, "param": null});
    let mut buf = BytesMut::new();
    encode(&mut buf, "error", data.to_string().as_bytes());
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_standard_sse() {
        let mut buf = BytesMut::new();
        encode(&mut buf, "response.created", b"{\"a\":1}");
        assert_eq!(&buf[..], b"event: response.created\ndata: {\"a\":1}\n\n");
        let mut buf = BytesMut::new();
        encode(&mut buf, "x", b"l1\nl2");
        assert_eq!(&buf[..], b"event: x\ndata: l1\ndata: l2\n\n");
    }
}
