//! Writing a committed stream to the client, event by event.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::dispatch::{StreamReply, inject_event, is_lifecycle, is_terminal};
use crate::store::Afterwards;
use crate::upstream::{EventStream, SseEvent};

struct State {
    head: Vec<SseEvent>,
    rest: Option<EventStream>,
    details: Option<Arc<Value>>,
    after: Option<Arc<Afterwards>>,
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
        details: reply.details,
        after: reply.after,
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
                render(&mut buf, &ev, st.details.as_deref(), st.after.as_deref()).await;
            }
            return Some((Ok::<_, Infallible>(buf.freeze()), st));
        }
        let rest = st.rest.as_mut()?;
        let frame = match tokio::time::timeout(st.idle, rest.next()).await {
            Ok(Some(Ok(ev))) => {
                let mut buf = BytesMut::with_capacity(ev.data.len() + ev.ty.len() + 16);
                render(&mut buf, &ev, st.details.as_deref(), st.after.as_deref()).await;
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

/// Encodes one event, echoing `previous_response_id` on lifecycle events and storing the final
/// response before the client sees it (so a retrieval right after the stream ends finds it).
async fn render(
    buf: &mut BytesMut,
    ev: &SseEvent,
    details: Option<&Value>,
    after: Option<&Afterwards>,
) {
    let Some(after) = after.filter(|_| is_lifecycle(&ev.ty)) else {
        return encode(buf, ev, details);
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(&ev.data) else {
        return encode(buf, ev, details);
    };
    if let Some(response) = v.get_mut("response").and_then(Value::as_object_mut) {
        if let Some(d) = details {
            response.insert("model_selection_details".into(), d.clone());
        }
        after.stamp(response);
    }
    if is_terminal(&ev.ty)
        && let Some(response) = v.get("response")
    {
        after.save(response).await;
    }
    let data = Bytes::from(serde_json::to_vec(&v).unwrap_or_else(|_| ev.data.to_vec()));
    encode(
        buf,
        &SseEvent {
            ty: ev.ty.clone(),
            data,
        },
        None,
    );
}

fn encode(buf: &mut BytesMut, ev: &SseEvent, details: Option<&Value>) {
    let stamped = details.and_then(|d| inject_event(ev, d));
    let data = stamped.as_ref().unwrap_or(&ev.data);
    buf.put_slice(b"event: ");
    buf.put_slice(ev.ty.as_bytes());
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
    encode(
        &mut buf,
        &SseEvent {
            ty: "error".into(),
            data: Bytes::from(data.to_string()),
        },
        None,
    );
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_standard_sse() {
        let mut buf = BytesMut::new();
        encode(
            &mut buf,
            &SseEvent {
                ty: "response.created".into(),
                data: Bytes::from_static(b"{\"a\":1}"),
            },
            None,
        );
        assert_eq!(&buf[..], b"event: response.created\ndata: {\"a\":1}\n\n");
        let mut buf = BytesMut::new();
        encode(
            &mut buf,
            &SseEvent {
                ty: "x".into(),
                data: Bytes::from_static(b"l1\nl2"),
            },
            None,
        );
        assert_eq!(&buf[..], b"event: x\ndata: l1\ndata: l2\n\n");
    }
}
