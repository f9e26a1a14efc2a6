//! Writing a committed stream to the client, event by event, and ending it: quietly after the
//! final event (and any trailing frames), or with the gateway's own `error` and
//! `response.failed` when the upstream breaks, goes idle or stops before its final event.

mod own;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use routewise_strategy::AttemptFailure;
use tokio::time::Instant;

use crate::dispatch::{StreamReply, TRAILING_WAIT};
use crate::finish::Finish;
use crate::telemetry::{Access, Outcome};
use crate::upstream::{EventStream, Idle, Liveness, SseEvent, next_event};
use tokio::sync::OwnedSemaphorePermit;

/// `error.message` of a stream whose upstream stopped before its final event.
pub(crate) const ENDED_EARLY: &str = "The upstream stream ended before its final event.";
/// `error.message` of a stream whose upstream sent nothing for the idle timeout.
pub(crate) const WENT_IDLE: &str = "The upstream stream went idle.";

struct State {
    head: Vec<SseEvent>,
    rest: Option<EventStream>,
    finish: Arc<Finish>,
    idle: Duration,
    liveness: Liveness,
    /// Set when a final (or `error`) event went out: what follows is read until then only.
    trailing_until: Option<Instant>,
    sent: own::Sent,
    done: bool,
    /// Emitted when the state is dropped: at the end of the stream, or when the client goes
    /// away and hyper drops the body.
    access: Access,
    /// A large request's share of the large-body budget, given back when the stream ends.
    _budget: Option<OwnedSemaphorePermit>,
}

/// What the upstream did next.
enum Next {
    Event(SseEvent),
    /// Ended: cleanly, or (after a final event) in any way at all.
    End,
    Broken(AttemptFailure),
    Idle,
}

/// The response body: the held-back head in one chunk, then each live event as it arrives.
/// An upstream that breaks, goes idle for `idle` (counting any bytes, keep-alive comments
/// included) or ends before its final event gets an `error` event and a `response.failed`
/// (no failover once content has reached the client). After the final event (or an `error`
/// event), trailing frames (Azure's `error` after `response.failed`, OpenAI's `response.failed`
/// after `error`) are read for [`TRAILING_WAIT`] at most, then the stream ends as it is. `access` is completed from the events sent (first delta, usage of the
/// terminal event) and emitted at the end.
pub(crate) fn body(
    reply: StreamReply,
    idle: Duration,
    mut access: Access,
    budget: Option<OwnedSemaphorePermit>,
) -> Body {
    // Until the stream reaches its end, dropping it means the client went away.
    access.outcome = Some(Outcome::ClientDisconnected);
    let state = State {
        head: reply.head,
        rest: reply.rest,
        finish: reply.finish,
        idle,
        liveness: reply.liveness,
        trailing_until: None,
        sent: own::Sent::default(),
        done: false,
        access,
        _budget: budget,
    };
    let frames = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        if !st.head.is_empty() {
            let mut buf = BytesMut::with_capacity(st.head.iter().map(|e| e.data.len() + 32).sum());
            for ev in std::mem::take(&mut st.head) {
                st.render(&mut buf, ev).await;
            }
            st.first_byte();
            return Some((Ok::<_, Infallible>(buf.freeze()), st));
        }
        let next = match (st.rest.as_mut(), st.trailing_until) {
            (None, _) => Next::End,
            (Some(rest), Some(until)) => match tokio::time::timeout_at(until, rest.next()).await {
                Ok(Some(Ok(ev))) => Next::Event(ev),
                // After the final event, a cut or silence ends the stream as its end would.
                _ => Next::End,
            },
            (Some(rest), None) => match next_event(rest, st.idle, &st.liveness).await {
                Ok(Some(Ok(ev))) => Next::Event(ev),
                Ok(Some(Err(failure))) => Next::Broken(failure),
                Ok(None) => Next::End,
                Err(Idle) => Next::Idle,
            },
        };
        let frame = match next {
            Next::Event(ev) => {
                let mut buf = BytesMut::with_capacity(ev.data.len() + ev.ty.len() + 16);
                st.render(&mut buf, ev).await;
                buf.freeze()
            }
            Next::End if st.sent.terminal => {
                st.ended();
                return None;
            }
            Next::End => st.ended_early().await,
            Next::Broken(failure) => {
                let code = if failure.is_timeout() {
                    "timeout"
                } else {
                    "server_error"
                };
                st.fail(code, failure.message()).await
            }
            Next::Idle => st.fail("timeout", WENT_IDLE).await,
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

    /// Encodes one event as `finish` shapes it, noting what it was (the first content delta,
    /// its number, a final event).
    async fn render(&mut self, buf: &mut BytesMut, ev: SseEvent) {
        let access = &mut self.access;
        if access.first_token.is_none() && ev.ty.ends_with(".delta") {
            access.first_token = Some(access.elapsed());
        }
        let shaped = self.finish.event(&ev, &mut access.seen).await;
        let data = shaped.unwrap_or(ev.data);
        encode(buf, &ev.ty, &data);
        self.sent.note(&ev.ty, data);
        if (self.sent.terminal || self.sent.error) && self.trailing_until.is_none() {
            self.trailing_until = Some(Instant::now() + TRAILING_WAIT.min(self.idle));
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

    /// The upstream stopped before its final event. After its own `error` event only the
    /// final event is missing; otherwise the gateway says what happened first.
    async fn ended_early(&mut self) -> Bytes {
        self.done = true;
        if !self.sent.error {
            return self.fail("server_error", ENDED_EARLY).await;
        }
        let code = self
            .access
            .seen
            .error_code
            .clone()
            .unwrap_or_else(|| "server_error".into());
        let mut buf = BytesMut::new();
        let failed = self.sent.failed_event(&code, ENDED_EARLY);
        self.render(&mut buf, failed).await;
        self.ended();
        buf.freeze()
    }

    /// Ends the stream with the gateway's own `error` event and a `response.failed` (stored
    /// like any final response, so the id the client saw can be retrieved).
    async fn fail(&mut self, code: &'static str, message: &str) -> Bytes {
        self.done = true;
        let mut buf = BytesMut::new();
        let error = self.sent.error_event(code, message);
        self.render(&mut buf, error).await;
        if !self.sent.terminal {
            let failed = self.sent.failed_event(code, message);
            self.render(&mut buf, failed).await;
        }
        self.access.outcome = Some(Outcome::StreamError);
        self.access.error_code = Some(code.into());
        buf.freeze()
    }
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
    buf.reserve(ty.len() + data.len() + 16);
    buf.put_slice(b"event: ");
    buf.put_slice(ty.as_bytes());
    buf.put_u8(b'\n');
    // Multi-line data (never produced by JSON encoders, but legal SSE) keeps its framing.
    // memchr, not a per-byte split: this runs over every byte of every streamed event.
    let mut rest = data;
    loop {
        let end = memchr::memchr(b'\n', rest);
        buf.put_slice(b"data: ");
        buf.put_slice(&rest[..end.unwrap_or(rest.len())]);
        buf.put_u8(b'\n');
        match end {
            Some(i) => rest = &rest[i + 1..],
            None => break,
        }
    }
    buf.put_u8(b'\n');
}

/// An `error` event numbered `seq`, encoded.
pub(crate) fn error_frame(seq: u64, code: &str, message: &str) -> Bytes {
    let ev = own::error_event(seq, code, message);
    let mut buf = BytesMut::new();
    encode(&mut buf, &ev.ty, &ev.data);
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_standard_sse() {
        // Multi-line data keeps one `data:` line per line, empty ones included.
        let cases: [(&str, &[u8], &[u8]); 4] = [
            (
                "response.created",
                b"{\"a\":1}",
                b"event: response.created\ndata: {\"a\":1}\n\n",
            ),
            ("x", b"l1\nl2", b"event: x\ndata: l1\ndata: l2\n\n"),
            ("x", b"\nl2\n", b"event: x\ndata: \ndata: l2\ndata: \n\n"),
            ("x", b"", b"event: x\ndata: \n\n"),
        ];
        for (ty, data, framed) in cases {
            let mut buf = BytesMut::new();
            encode(&mut buf, ty, data);
            assert_eq!(&buf[..], framed, "{ty} {data:?}");
        }
    }
}
