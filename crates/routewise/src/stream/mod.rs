//! `ResponseStream`: the typed event stream of `responses().stream(..)`.

mod accumulator;
mod error_frame;
mod reader;

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use futures_core::Stream;
use routewise_strategy::{AttemptOutcome, RouteDecision, SharedStrategy};
use routewise_types::ResponseStreamEvent;
use tracing::Span;

pub use accumulator::StreamAccumulator;
pub(crate) use reader::{EventReader, StreamTiming};

use crate::error::{Error, ErrorKind};
use crate::meta::ResponseMeta;
use crate::routing::RoutedResponse;
use crate::telemetry::{self, CallRecord};

/// A stream that the router committed to: the preamble events read while failover was still
/// possible, and the reader for the rest.
pub(crate) struct Committed {
    pub(crate) reader: EventReader,
    pub(crate) preamble: Vec<ResponseStreamEvent>,
    pub(crate) meta: ResponseMeta,
    pub(crate) deployment: String,
}

/// Reports a failure after content to the strategy, so cooldowns see it.
struct Observer {
    strategy: SharedStrategy,
    deployment: String,
}

/// The events of a streamed response, plus an accumulator for the final [`Response`](routewise_types::Response).
///
/// Implements `Stream<Item = Result<ResponseStreamEvent, Error>>`. The stream ends after the
/// server closes the body; a terminal `response.completed` is followed by EOF. In-band failures
/// (`response.failed`, `error`) arrive as one [`ErrorKind::StreamFailed`] error carrying the
/// reason, a reset or out-of-order `sequence_number` and a body that ends before a terminal event
/// as [`ErrorKind::StreamProtocol`], a silent connection as [`ErrorKind::Timeout`]. After an
/// error the stream ends; it is never restarted behind the caller's back.
///
/// # Cancel safety
///
/// Dropping the stream drops the response body: the transport closes the HTTP/1 connection or
/// resets the HTTP/2 stream, so the server stops generating. Polling is cancel-safe (an event is
/// never lost between polls), but dropping a pending [`final_response`](Self::final_response)
/// drops the stream with it.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use routewise_types::CreateResponse;
///
/// # async fn run(client: routewise::Client) -> Result<(), routewise::Error> {
/// let mut stream = client.responses().stream(CreateResponse::new("model-router", "Explain RAG in one sentence.")).await?;
/// while let Some(event) = stream.next().await {
///     if let Some(delta) = event?.text_delta() {
///         print!("{delta}");
///     }
/// }
/// let response = stream.final_response().await?;
/// println!("\nserved by {}", response.served_model());
/// # Ok(()) }
/// ```
pub struct ResponseStream {
    reader: EventReader,
    preamble: std::vec::IntoIter<ResponseStreamEvent>,
    acc: StreamAccumulator,
    decision: RouteDecision,
    meta: ResponseMeta,
    span: Span,
    started: Instant,
    observer: Option<Observer>,
    /// The error the stream ended with, kept for [`final_response`](Self::final_response).
    error: Option<Error>,
    done: bool,
}

impl std::fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStream")
            .field("deployment", &self.decision.deployment)
            .field("events", &self.acc.event_count())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ResponseStream {
    pub(crate) fn new(
        committed: Committed,
        decision: RouteDecision,
        strategy: SharedStrategy,
        span: Span,
        started: Instant,
    ) -> Self {
        Self {
            reader: committed.reader,
            preamble: committed.preamble.into_iter(),
            acc: StreamAccumulator::new(),
            decision,
            meta: committed.meta,
            span,
            started,
            observer: Some(Observer {
                strategy,
                deployment: committed.deployment,
            }),
            error: None,
            done: false,
        }
    }

    /// A stream nobody routed (`retrieve_stream`: the response already has its deployment),
    /// so no strategy hears how it ends and its decision is empty.
    pub(crate) fn unrouted(
        reader: EventReader,
        meta: ResponseMeta,
        span: Span,
        started: Instant,
    ) -> Self {
        Self {
            reader,
            preamble: Vec::new().into_iter(),
            acc: StreamAccumulator::new(),
            decision: RouteDecision::default(),
            meta,
            span,
            started,
            observer: None,
            error: None,
            done: false,
        }
    }

    /// How the stream was routed: strategy, candidates, attempts (failovers before the first
    /// content delta included) and the serving deployment.
    pub fn decision(&self) -> &RouteDecision {
        &self.decision
    }

    /// The diagnostic and rate-limit headers of the serving attempt.
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// What has been accumulated from the events yielded so far.
    pub fn accumulator(&self) -> &StreamAccumulator {
        &self.acc
    }

    /// Reads the rest of the stream and returns the final response with its route decision.
    ///
    /// If the stream failed, also when the failure was already yielded to the caller, that
    /// error is returned.
    pub async fn final_response(mut self) -> Result<RoutedResponse, Error> {
        // Events read here go nowhere else, so the terminal response is moved, not copied.
        while let Some(event) = std::future::poll_fn(|cx| self.poll_event(cx)).await {
            self.acc.push_owned(event?);
        }
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        let mut decision = std::mem::take(&mut self.decision);
        let meta = std::mem::take(&mut self.meta);
        let acc = std::mem::take(&mut self.acc);
        let response = acc.finish().ok_or_else(|| {
            Error::new(
                ErrorKind::StreamProtocol,
                "the stream ended without a final response",
            )
        })?;
        decision.record_response(&response);
        Ok(RoutedResponse::new(response, decision, meta))
    }

    /// The next event, not yet folded into the accumulator.
    fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ResponseStreamEvent, Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(event) = self.preamble.next() {
            return Poll::Ready(Some(Ok(event)));
        }
        match ready!(Pin::new(&mut self.reader).poll_next(cx)) {
            Some(Ok(event)) => Poll::Ready(Some(Ok(event))),
            Some(Err(err)) => Poll::Ready(Some(Err(self.fail(err)))),
            None => {
                self.succeed();
                Poll::Ready(None)
            }
        }
    }

    fn fail(&mut self, err: Error) -> Error {
        self.done = true;
        if let Some(observer) = self.observer.take() {
            let failure = err.to_attempt_failure().after_content();
            let outcome = AttemptOutcome::failure(
                &observer.deployment,
                Instant::now(),
                self.started.elapsed(),
                &failure,
            );
            observer.strategy.observe(&outcome);
        }
        telemetry::record_failure(&self.span, &err, self.started.elapsed());
        let err = err
            .with_meta(self.meta.clone())
            .with_decision(self.decision.clone());
        self.error.get_or_insert_with(|| err.clone());
        err
    }

    fn succeed(&mut self) {
        self.done = true;
        let snapshot = self.acc.snapshot();
        let usage = snapshot.and_then(|r| r.usage.as_ref());
        let record = CallRecord {
            response_model: snapshot.and_then(|r| r.model.as_deref()),
            response_id: snapshot.map(|r| r.id.as_str()),
            input_tokens: usage.map(|u| u.input_tokens),
            output_tokens: usage.map(|u| u.output_tokens),
            deployment: self.decision.deployment.as_deref(),
            strategy: Some(&self.decision.strategy),
            attempts: Some(self.decision.attempts.len()),
        };
        telemetry::record_success(&self.span, &record, &self.meta, self.started.elapsed());
    }
}

impl Stream for ResponseStream {
    type Item = Result<ResponseStreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = ready!(this.poll_event(cx));
        if let Some(Ok(event)) = &item {
            this.acc.push(event);
        }
        Poll::Ready(item)
    }
}
