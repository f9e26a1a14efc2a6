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
use crate::upstream::{EventStream, SseEvent};

struct State {
    head: Vec<SseEvent>,
    rest: Option<EventStream>,
    finish: Arc<Finish>,
    idle: Duration,
    done: bool,
}

/// The response body: the held-back head in one chunk, then each live event as it arrives.
/// An upstream that breaks or goes idle for `idle` after the first delta ends the stream with
/// an `error` event (no failover once content has reached the client).
pub(crate) fn body(reply: StreamReply, idle: Duration) -> Body {
    let state = State {
        head: reply.head,
        rest: reply.rest,
        finish: reply.finish,
        idle,
        done: false,
    };
    let frames = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        if !st.head.is_empty() {
            let mut buf = BytesMut::with_capacity(st.head.iter().map(|e| e.data.len() + 32).sum());
            for ev in std::mem::take(&mut st.head) {
                render(&mut buf, &ev, &st.finish).await;
            }
            return Some((Ok::<_, Infallible>(buf.freeze()), st));
        }
        let rest = st.rest.as_mut()?;
        let frame = match tokio::time::timeout(st.idle, rest.next()).await {
            Ok(Some(Ok(ev))) => {
                let mut buf = BytesMut::with_capacity(ev.data.len() + ev.ty.len() + 16);
                render(&mut buf, &ev, &st.finish).await;
                buf.freeze()
            }
            Ok(Some(Err(failure))) => {
                st.done = true;
                error_frame("server_error", failure.message())
            }
            Ok(None) => return None,
            Err(_) => {
                st.done = true;
                error_frame("timeout", "The upstream stream went idle.")
            }
        };
        Some((Ok(frame), st))
    });
    Body::from_stream(frames)
}

/// Encodes one event as `finish` shapes it.
async fn render(buf: &mut BytesMut, ev: &SseEvent, finish: &Finish) {
    let shaped = finish.event(ev).await;
    encode(buf, &ev.ty, shaped.as_ref().unwrap_or(&ev.data));
}

fn encode(buf: &mut BytesMut, ty: &str, data: &[u8]) {
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

fn error_frame(code: &str, message: &str) -> Bytes {
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
