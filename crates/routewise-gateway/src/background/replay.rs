//! `GET /responses/{id}?stream=true&starting_after=N`: a background stream's events after `N`
//! from its Redis log, then the live ones as the run appends them, until the terminal event.
//! Each follower takes a place under the replica's `max_stream_followers` cap first, and holds
//! it until its stream ends or its client leaves.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use redis::aio::MultiplexedConnection;

use super::followers::Place;
use super::object::{self, is_background, is_terminal_event, is_terminal_status, status_of};
use super::reconcile;
use crate::access::Caller;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::store::{LoggedEvent, ResponseStore};

/// Longest single wait for new events; between waits the follower checks that the run is
/// still alive.
const BLOCK: Duration = Duration::from_secs(1);
/// Events read per round trip while catching up.
const PAGE: usize = 256;

fn invalid_mode(message: &str) -> GatewayError {
    GatewayError::invalid(message, Some("stream".into()), "invalid_mode")
}

/// Parses `starting_after` (absent: from the first event); a sequence number is at most
/// `i64::MAX`, as in OpenAI's API.
pub(crate) fn starting_after(raw: Option<&str>) -> Result<Option<u64>, GatewayError> {
    match raw {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|&n| i64::try_from(n).is_ok())
            .map(Some)
            .ok_or_else(|| {
                GatewayError::invalid(
                    format!(
                        "Invalid 'starting_after': expected an integer from 0 to {}, got '{}'.",
                        i64::MAX,
                        crate::error::clipped(v, 64)
                    ),
                    Some("starting_after".into()),
                    "invalid_value",
                )
            }),
    }
}

/// Answers a stream replay of `id`, or the error that says why there is none (another
/// tenant's response is the 404 of a missing one).
pub(crate) async fn replay(
    state: &AppState,
    id: String,
    after: Option<&str>,
    caller: &Caller,
) -> Response {
    match open(state, id, after, caller).await {
        Ok(body) => {
            let mut resp = Response::new(body);
            crate::sse::event_stream_headers(resp.headers_mut());
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn open(
    state: &AppState,
    id: String,
    after: Option<&str>,
    caller: &Caller,
) -> Result<Body, GatewayError> {
    let after = starting_after(after)?;
    let Some(store) = &state.store else {
        return Err(state.response_not_found(id));
    };
    // Before any Redis round trip: the cap protects Redis, so a refused follower costs it
    // nothing.
    let place = state.followers.admit()?;
    let Some(stored) = store
        .get(&id)
        .await?
        .filter(|s| caller.may_see(s.tenant.as_deref()))
    else {
        return Err(state.response_not_found(id));
    };
    if !is_background(&stored.response) {
        return Err(invalid_mode(
            "This response cannot be streamed because it was not created with background=true.",
        ));
    }
    reconcile(store, &id, stored).await?;
    if !store.has_events(&id).await? {
        return Err(invalid_mode(
            "This response cannot be streamed because it was not created with stream=true or the stream TTL has expired.",
        ));
    }
    let follow = Follow {
        store: Arc::clone(store),
        id,
        last: after,
        conn: None,
        done: false,
        settled: 0,
        _place: place,
    };
    let frames = futures_util::stream::unfold(follow, |mut f| async move {
        let frame = f.next_frame().await?;
        Some((Ok::<_, Infallible>(frame), f))
    });
    Ok(Body::from_stream(frames))
}

/// The `error` event a follower gets when the response is deleted under it.
const DELETED: &str = "The response was deleted while this stream was following it.";

struct Follow {
    store: Arc<ResponseStore>,
    id: String,
    /// The last sequence number sent.
    last: Option<u64>,
    /// The dedicated connection blocking reads run on, opened when first needed.
    conn: Option<MultiplexedConnection>,
    done: bool,
    /// Quiet waits seen since the record became terminal.
    settled: u32,
    /// This follower's place under the cap; the stream's state owns it, so it is given back
    /// as soon as the stream ends or its body is dropped (the client left).
    _place: Place,
}

impl Follow {
    async fn next_frame(&mut self) -> Option<Bytes> {
        let mut catch_up = true;
        while !self.done {
            match self.next_events(catch_up).await {
                Ok(events) => {
                    let frame = self.render(&events);
                    if !frame.is_empty() {
                        return Some(frame);
                    }
                    // Nothing new in what came back: wait for more rather than read again
                    // at once.
                    catch_up = false;
                }
                Err(e) => {
                    self.done = true;
                    let seq = self.last.map_or(0, |l| l + 1);
                    let frame = if e.is_response_not_found() {
                        crate::sse::error_frame(seq, "response_not_found", DELETED)
                    } else {
                        crate::sse::error_frame(seq, "server_error", &e.to_string())
                    };
                    return Some(frame);
                }
            }
        }
        None
    }

    fn render(&mut self, events: &[LoggedEvent]) -> Bytes {
        let mut buf = BytesMut::new();
        for ev in events {
            if self.last.is_some_and(|l| ev.seq <= l) {
                continue;
            }
            crate::sse::encode(&mut buf, &ev.ty, &ev.data);
            self.last = Some(ev.seq);
            if is_terminal_event(&ev.ty) {
                self.done = true;
                break;
            }
        }
        buf.freeze()
    }

    /// The next events: logged ones first, then a blocking wait for new ones; with nothing
    /// coming, the record decides (a finished run whose terminal event never reached the log
    /// gets one made from the record; an orphaned one is marked failed).
    async fn next_events(&mut self, catch_up: bool) -> Result<Vec<LoggedEvent>, GatewayError> {
        if catch_up {
            let logged = self.store.events_after(&self.id, self.last, PAGE).await?;
            if !logged.is_empty() {
                return Ok(logged);
            }
        }
        loop {
            if self.conn.is_none() {
                self.conn = Some(self.store.follower(BLOCK).await?);
            }
            let conn = self.conn.as_mut().ok_or_else(|| GatewayError::Internal {
                message: "no follower connection".into(),
            })?;
            let fresh = self
                .store
                .wait_events(conn, &self.id, self.last, BLOCK)
                .await?;
            if !fresh.is_empty() {
                return Ok(fresh);
            }
            let Some(stored) = self.store.get(&self.id).await? else {
                // Deleted meanwhile: nothing more will come, and the follower is told so
                // (an `error` event) rather than left with what looks like a cut connection.
                return Err(GatewayError::ResponseNotFound {
                    id: self.id.clone(),
                    store_configured: true,
                });
            };
            let stored = reconcile(&self.store, &self.id, stored).await?;
            let status = status_of(&stored.response).unwrap_or("failed");
            if !is_terminal_status(status) {
                continue;
            }
            if let Some(last) = self.store.last_event(&self.id).await?
                && is_terminal_event(&last.ty)
                && self.last.is_some_and(|l| last.seq <= l)
            {
                // Everything up to the end is logged; the reader is past it.
                self.done = true;
                return Ok(Vec::new());
            }
            // The run writes its record just before its terminal event: allow it one wait.
            self.settled += 1;
            if self.settled >= 2 {
                let seq = self.last.map_or(0, |l| l + 1);
                let ty = object::terminal_type(status);
                return Ok(vec![object::lifecycle(ty, seq, &stored.response)]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_after_is_a_non_negative_integer() {
        assert_eq!(starting_after(None).unwrap(), None);
        assert_eq!(starting_after(Some("7")).unwrap(), Some(7));
        let err = starting_after(Some("-1")).unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        assert!(starting_after(Some("x")).is_err());
        let top = i64::MAX.to_string();
        assert_eq!(starting_after(Some(&top)).unwrap(), Some(i64::MAX as u64));
        for huge in [
            "9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
        ] {
            let err = starting_after(Some(huge)).unwrap_err();
            assert_eq!(err.status().as_u16(), 400, "{huge}");
            assert_eq!(err.body()["error"]["param"], "starting_after");
        }
    }
}
