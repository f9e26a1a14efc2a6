//! From SSE frames to typed events, with the protocol checks a Responses stream needs.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use routewise_transport::ResponseBody;
use routewise_transport::sse::SseStream;
use routewise_types::ResponseStreamEvent;

use crate::error::{Error, ErrorKind};
use crate::exchange::decode;

/// Reads typed events off an SSE body.
///
/// - Dispatches on the JSON `type`, never on `event:`; skips `[DONE]` and empty frames.
/// - Rejects a `sequence_number` that does not increase.
/// - Holds back `response.failed` and `error` frames and reads on to EOF, then yields one
///   [`ErrorKind::StreamFailed`] error that merges both: Azure sends `response.failed` with a
///   null error, then an `error` frame with the reason; OpenAI sends them the other way round.
/// - After `response.completed|incomplete`, still reads to EOF so a trailing `error` surfaces.
/// - A body that ends before any terminal event is a [`ErrorKind::StreamProtocol`] error.
pub(crate) struct EventReader {
    sse: SseStream<ResponseBody>,
    last_sequence: Option<u64>,
    completed: bool,
    failure: Option<Failure>,
    finished: bool,
}

/// An in-band failure being assembled from `response.failed` and `error` frames.
#[derive(Default)]
struct Failure {
    code: Option<String>,
    message: String,
    param: Option<String>,
    response_id: Option<String>,
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
        if let Some(id) = &self.response_id
            && message.is_empty()
        {
            message = format!("response {id} failed without a reason");
        }
        Error::in_band(self.code.as_deref(), &message, self.param.as_deref())
    }
}

impl EventReader {
    pub(crate) fn new(body: ResponseBody) -> Self {
        Self {
            sse: SseStream::new(body),
            last_sequence: None,
            completed: false,
            failure: None,
            finished: false,
        }
    }

    /// Handles one decoded event: `Some(event)` to hand on, `None` to keep reading.
    fn accept(&mut self, event: ResponseStreamEvent) -> Result<Option<ResponseStreamEvent>, Error> {
        if let Some(seq) = event.sequence_number() {
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
                let failure = self.failure.get_or_insert_with(Failure::default);
                failure.response_id = Some(ev.response.id.clone());
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
                self.failure
                    .get_or_insert_with(Failure::default)
                    .merge(code, ev.message(), param);
                Ok(None)
            }
            ResponseStreamEvent::Completed(_) | ResponseStreamEvent::Incomplete(_) => {
                self.completed = true;
                Ok(Some(event))
            }
            // After a failure frame nothing else is content for the caller.
            _ if self.failure.is_some() => Ok(None),
            _ => Ok(Some(event)),
        }
    }

    /// The outcome at end of input.
    fn at_eof(&mut self) -> Option<Error> {
        if let Some(failure) = self.failure.take() {
            return Some(failure.into_error());
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
            match ready!(Pin::new(&mut this.sse).poll_next(cx)) {
                Some(Ok(frame)) => {
                    if frame.is_done() || frame.data.trim().is_empty() {
                        continue;
                    }
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
                    let err = match this.failure.take() {
                        Some(failure) => failure.into_error(),
                        None => Error::from(err),
                    };
                    return Poll::Ready(Some(Err(err)));
                }
                None => {
                    this.finished = true;
                    return Poll::Ready(this.at_eof().map(Err));
                }
            }
        }
    }
}
