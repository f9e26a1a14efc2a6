//! From SSE frames to typed events, with the protocol checks a Responses stream needs.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::Stream;
use routewise_transport::ResponseBody;
use routewise_transport::deadline;
use routewise_transport::sse::SseStream;
use routewise_types::ResponseStreamEvent;
use tokio::time::{Instant, Sleep};

use super::error_frame::untyped_error;
use crate::error::{Error, ErrorKind};
use crate::exchange::decode;

/// Reads typed events off an SSE body.
///
/// - Dispatches on the JSON `type`, never on `event:`; skips `[DONE]`, empty frames and frames
///   whose data is not a JSON object (a proxy's `data: ping`). A malformed object is an error.
/// - An untyped `{"error":{...}}` frame (OpenAI's shape, which the official SDKs raise on) is
///   an `error` frame like a typed one: never handed on as an event.
/// - Rejects a `sequence_number` that does not increase. A reader resuming after event `n`
///   ([`EventReader::resuming_after`]) drops events numbered `n` or less instead, so a server
///   that ignores `starting_after` and replays from the start repeats nothing.
/// - Holds back `response.failed` and `error` frames and reads on to EOF, then yields one
///   [`ErrorKind::StreamFailed`] error that merges both: Azure sends `response.failed` with a
///   null error, then an `error` frame with the reason; OpenAI sends them the other way round.
/// - After `response.completed|incomplete`, still reads to EOF so a trailing `error` surfaces;
///   a reset connection or a frame cut short in that window ends the stream like EOF does
///   (the response is already whole, and its deployment did nothing wrong).
/// - A body that ends before any terminal event is a [`ErrorKind::StreamProtocol`] error,
///   except a resumed one that brought no new event: the reader was already past the end.
/// - Waiting for EOF after a failure or terminal frame is bounded by [`StreamTiming::grace`]:
///   then a failure is surfaced (a completed stream simply ends), so a server that keeps a
///   failed connection open cannot hold up failover. A failure reported by both frames is
///   surfaced at once.
/// - [`StreamTiming::idle`] bounds the time between two complete events. SSE comments and
///   empty keep-alive frames do not count as events, so a server that only pings still times
///   out ([`ErrorKind::Timeout`]); the transport's idle timeout only sees body chunks.
pub(crate) struct EventReader {
    sse: SseStream<ResponseBody>,
    last_sequence: Option<u64>,
    /// Events numbered this or lower are dropped (a resumed stream's already-seen events).
    seen_through: Option<u64>,
    completed: bool,
    failure: Option<Failure>,
    finished: bool,
    timing: StreamTiming,
    /// When the last complete event arrived.
    last_event: Instant,
    /// Set once a failure or terminal frame was seen.
    grace_until: Option<Instant>,
    /// Armed lazily: moved only when it fires early, not on every event.
    timer: Pin<Box<Sleep>>,
}

/// How long a stream may wait, between events and after its outcome is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamTiming {
    /// The most time between two complete events.
    pub(crate) idle: Duration,
    /// The most time to wait for EOF (or a trailing `error` frame) after a failure or
    /// terminal frame.
    pub(crate) grace: Duration,
}

/// An in-band failure being assembled from `response.failed` and `error` frames.
#[derive(Default)]
struct Failure {
    /// Both halves arrived: `response.failed` and `error`; nothing more is worth waiting for.
    seen_failed: bool,
    seen_error: bool,
    code: Option<String>,
    message: String,
    param: Option<String>,
    response_id: Option<String>,
    /// The failed response's status said `cancelled` (a background response's stream).
    cancelled: bool,
}

impl Failure {
    /// Adds what a frame says; the first non-empty reason wins, since both frames describe the
    /// same failure and the `error` frame (whichever comes first) is the more specific.
    fn merge(&mut self, code: Option<&str>, message: &str, param: Option<&str>) {
        if self.code.is_none() {
            self.code = code.map(str::to_owned);
        }
        if self.message.is_empty() {
            message.clone_into(&mut self.message);
        }
        if self.param.is_none() {
            self.param = param.map(str::to_owned);
        }
    }

    fn into_error(self) -> Error {
        let mut message = self.message;
        let mut code = self.code;
        if let Some(id) = &self.response_id
            && message.is_empty()
        {
            if self.cancelled {
                message = format!("response {id} was cancelled");
                code.get_or_insert_with(|| "cancelled".to_owned());
            } else {
                message = format!("response {id} failed without a reason");
            }
        }
        Error::in_band(code.as_deref(), &message, self.param.as_deref())
    }
}

impl EventReader {
    pub(crate) fn new(body: ResponseBody, timing: StreamTiming) -> Self {
        let now = Instant::now();
        Self {
            sse: SseStream::new(body),
            last_sequence: None,
            seen_through: None,
            completed: false,
            failure: None,
            finished: false,
            timing,
            last_event: now,
            grace_until: None,
            timer: Box::pin(tokio::time::sleep_until(deadline(now, timing.idle))),
        }
    }

    /// A reader for a stream resumed after event `n` (`starting_after=n`).
    pub(crate) fn resuming_after(mut self, n: u64) -> Self {
        self.seen_through = Some(n);
        self
    }

    /// When waiting must stop: the idle deadline, or the grace deadline once the outcome is known.
    fn deadline(&self) -> Instant {
        let idle = deadline(self.last_event, self.timing.idle);
        self.grace_until.map_or(idle, |grace| grace.min(idle))
    }

    /// Polls the timer against the current deadline; ready when it has passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let deadline = self.deadline();
            if self.timer.deadline() != deadline {
                self.timer.as_mut().reset(deadline);
            }
            ready!(self.timer.as_mut().poll(cx));
            if Instant::now() >= self.deadline() {
                return Poll::Ready(());
            }
        }
    }

    /// The outcome when the deadline passes.
    fn on_deadline(&mut self) -> Option<Error> {
        if let Some(failure) = self.failure.take() {
            return Some(failure.into_error());
        }
        if self.completed {
            return None;
        }
        let message = format!(
            "no stream event for {} ms (idle timeout; keep-alive comments do not count)",
            self.timing.idle.as_millis()
        );
        Some(Error::new(ErrorKind::Timeout, message))
    }

    /// Starts the grace period the first time the outcome is known.
    fn start_grace(&mut self) {
        if self.grace_until.is_none() {
            self.grace_until = Some(deadline(Instant::now(), self.timing.grace));
        }
    }

    /// Handles one decoded event: `Some(event)` to hand on, `None` to keep reading.
    fn accept(&mut self, event: ResponseStreamEvent) -> Result<Option<ResponseStreamEvent>, Error> {
        if let Some(seq) = event.sequence_number() {
            if self.last_sequence.is_none() && self.seen_through.is_some_and(|n| seq <= n) {
                return Ok(None);
            }
            if let Some(last) = self.last_sequence
                && seq <= last
            {
                let message = format!(
                    "sequence_number went from {last} to {seq}; the stream was reset or replayed"
                );
                return Err(Error::new(ErrorKind::StreamProtocol, message));
            }
            self.last_sequence = Some(seq);
        }
        match &event {
            ResponseStreamEvent::Failed(ev) => {
                self.start_grace();
                let failure = self.failure.get_or_insert_with(Failure::default);
                failure.seen_failed = true;
                failure.response_id = Some(ev.response.id.clone());
                failure.cancelled =
                    ev.response.status == Some(routewise_types::ResponseStatus::Cancelled);
                if let Some(err) = &ev.response.error {
                    let code = err.code.as_ref().map(|c| c.as_str());
                    failure.merge(code, err.message.as_deref().unwrap_or(""), None);
                }
                Ok(None)
            }
            ResponseStreamEvent::Error(ev) => {
                let param = ev
                    .param
                    .as_deref()
                    .or(ev.error.as_ref().and_then(|e| e.param.as_deref()));
                let code = ev.code().map(|c| c.as_str());
                self.error_frame(code, ev.message(), param);
                Ok(None)
            }
            ResponseStreamEvent::Unknown(value) => match untyped_error(value) {
                Some(err) => {
                    self.error_frame(err.code.as_deref(), &err.message, err.param.as_deref());
                    Ok(None)
                }
                None if self.failure.is_some() => Ok(None),
                None => Ok(Some(event)),
            },
            ResponseStreamEvent::Completed(_) | ResponseStreamEvent::Incomplete(_) => {
                self.start_grace();
                self.completed = true;
                Ok(Some(event))
            }
            // After a failure frame nothing else is content for the caller.
            _ if self.failure.is_some() => Ok(None),
            _ => Ok(Some(event)),
        }
    }

    /// Records an `error` frame, typed or not: the stream has failed, whatever follows.
    fn error_frame(&mut self, code: Option<&str>, message: &str, param: Option<&str>) {
        self.start_grace();
        let failure = self.failure.get_or_insert_with(Failure::default);
        failure.seen_error = true;
        failure.merge(code, message, param);
    }

    /// The outcome at end of input.
    fn at_eof(&mut self) -> Option<Error> {
        if let Some(failure) = self.failure.take() {
            return Some(failure.into_error());
        }
        // Resumed after the last event there was: nothing follows it, and that is no fault.
        if self.seen_through.is_some() && self.last_sequence.is_none() {
            return None;
        }
        (!self.completed).then(|| {
            Error::new(
                ErrorKind::StreamProtocol,
                "the stream ended before a terminal event (truncated)",
            )
        })
    }
}

impl Stream for EventReader {
    type Item = Result<ResponseStreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            if this
                .failure
                .as_ref()
                .is_some_and(|f| f.seen_failed && f.seen_error)
            {
                this.finished = true;
                return Poll::Ready(this.failure.take().map(|f| Err(f.into_error())));
            }
            let polled = match Pin::new(&mut this.sse).poll_next(cx) {
                Poll::Ready(item) => item,
                Poll::Pending => {
                    ready!(this.poll_deadline(cx));
                    this.finished = true;
                    return Poll::Ready(this.on_deadline().map(Err));
                }
            };
            match polled {
                Some(Ok(frame)) => {
                    if frame.is_done() || frame.data.trim().is_empty() {
                        continue;
                    }
                    // Every Responses event is a JSON object; anything else is a proxy's
                    // keep-alive (`data: ping`) or similar, and counts no more than a comment.
                    // The data is not logged: it could be anything.
                    if !frame.data.trim_start().starts_with('{') {
                        tracing::debug!(
                            data_len = frame.data.len(),
                            "skipped a stream frame whose data is not a JSON object"
                        );
                        continue;
                    }
                    this.last_event = Instant::now();
                    let step = decode::<ResponseStreamEvent>(frame.data.as_bytes())
                        .and_then(|ev| this.accept(ev));
                    match step {
                        Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                        Ok(None) => continue,
                        Err(err) => {
                            this.finished = true;
                            return Poll::Ready(Some(Err(err)));
                        }
                    }
                }
                Some(Err(err)) => {
                    this.finished = true;
                    // A failure already announced in-band is the better explanation than the
                    // broken or silent connection that followed it.
                    if let Some(failure) = this.failure.take() {
                        return Poll::Ready(Some(Err(failure.into_error())));
                    }
                    if this.completed && (err.is_transport() || err.is_truncated()) {
                        tracing::debug!(
                            error = %err,
                            "the stream broke after its terminal event; treated as its end"
                        );
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Err(Error::from(err))));
                }
                None => {
                    this.finished = true;
                    return Poll::Ready(this.at_eof().map(Err));
                }
            }
        }
    }
}
