//! `SseStream`: server-sent events read from any `http_body::Body`.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use futures_core::Stream;
use http_body::Body;

use super::{SseDecoder, SseError, SseEvent};
use crate::{BoxError, TransportError};

pin_project_lite::pin_project! {
    /// A [`Stream`] of [`SseEvent`]s decoded from a response body.
    ///
    /// It yields every event until the body ends. It does **not** stop at terminal events or at
    /// [`[DONE]`](SseEvent::is_done): the Responses API may send an `error` frame after
    /// `response.failed`, so the caller decides when to stop reading. A body that ends inside an
    /// event yields [`SseError::Truncated`]; a failing body yields [`SseError::Transport`]. After
    /// the first error the stream ends.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use futures_util::StreamExt;
    /// use routewise_transport::{body, sse::SseStream};
    ///
    /// let mut events = SseStream::new(body::full("data: {\"a\":1}\n\ndata: [DONE]\n\n"));
    /// assert_eq!(events.next().await.unwrap().unwrap().data, "{\"a\":1}");
    /// assert!(events.next().await.unwrap().unwrap().is_done());
    /// assert!(events.next().await.is_none());
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct SseStream<B> {
        #[pin]
        body: B,
        decoder: SseDecoder,
        finished: bool,
    }
}

impl<B> SseStream<B> {
    /// Decodes `body` with a default [`SseDecoder`].
    pub fn new(body: B) -> Self {
        Self::with_decoder(body, SseDecoder::new())
    }

    /// Decodes `body` with `decoder` (e.g. one with a custom event size limit).
    pub fn with_decoder(body: B, decoder: SseDecoder) -> Self {
        Self {
            body,
            decoder,
            finished: false,
        }
    }

    /// Stops decoding and returns the body.
    pub fn into_inner(self) -> B {
        self.body
    }
}

impl<B> Stream for SseStream<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Item = Result<SseEvent, SseError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if *this.finished {
                return Poll::Ready(None);
            }
            match this.decoder.next_event() {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) => {}
                Err(err) => {
                    *this.finished = true;
                    return Poll::Ready(Some(Err(err)));
                }
            }
            match ready!(this.body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(mut data) = frame.into_data() {
                        while data.has_remaining() {
                            let chunk = data.chunk();
                            let n = chunk.len();
                            this.decoder.push(chunk);
                            data.advance(n);
                        }
                    }
                }
                Some(Err(err)) => {
                    *this.finished = true;
                    let err = TransportError::from_body_error(err.into());
                    return Poll::Ready(Some(Err(SseError::Transport(err))));
                }
                None => {
                    *this.finished = true;
                    return Poll::Ready(this.decoder.finish().err().map(Err));
                }
            }
        }
    }
}
