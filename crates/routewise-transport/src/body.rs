//! The streaming response body type and helpers to build and read it.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Empty, Full};

use crate::{BoxError, TransportError, TransportErrorKind};

/// The body of every response a [`Transport`](crate::Transport) returns: a boxed, streaming
/// `http_body::Body` of [`Bytes`] chunks.
///
/// Body errors are [`BoxError`]s; the transports in this crate put a [`TransportError`] inside,
/// which [`TransportError::from_body_error`] recovers.
pub type ResponseBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// A body holding `bytes` in one chunk.
///
/// ```
/// let body = routewise_transport::body::full("hello");
/// # let _ = body;
/// ```
pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty body.
pub fn empty() -> ResponseBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A body that yields the chunks of `stream`, e.g. to script a slow or failing SSE stream in a
/// custom or fake transport.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let chunks = vec![Ok::<_, std::io::Error>(bytes::Bytes::from("data: a\n")), Ok("\n".into())];
/// let body = routewise_transport::body::from_stream(futures_util::stream::iter(chunks));
/// let all = routewise_transport::body::collect(body).await.unwrap();
/// assert_eq!(&all[..], b"data: a\n\n");
/// # }
/// ```
pub fn from_stream<S, E>(stream: S) -> ResponseBody
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<BoxError>,
{
    StreamFrames { stream }.boxed_unsync()
}

/// Boxes any `Send` body with `Bytes` chunks into a [`ResponseBody`].
pub fn boxed<B>(body: B) -> ResponseBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// Reads a whole body into memory. Errors are classified with
/// [`TransportError::from_body_error`].
pub async fn collect<B>(body: B) -> Result<Bytes, TransportError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    collect_limited(body, usize::MAX).await
}

/// Reads a whole body into memory, failing with a [`TransportErrorKind::Body`] error once it
/// grows past `limit` bytes (an error page from a misbehaving proxy should not exhaust memory).
pub async fn collect_limited<B>(body: B, limit: usize) -> Result<Bytes, TransportError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| TransportError::from_body_error(e.into()))?;
        if let Ok(mut data) = frame.into_data() {
            while bytes::Buf::has_remaining(&data) {
                let chunk = bytes::Buf::chunk(&data);
                if out.len().saturating_add(chunk.len()) > limit {
                    return Err(TransportError::msg(
                        TransportErrorKind::Body,
                        format!("response body exceeds the {limit} byte limit"),
                    ));
                }
                out.extend_from_slice(chunk);
                let n = chunk.len();
                bytes::Buf::advance(&mut data, n);
            }
        }
    }
    Ok(out.freeze())
}

/// Reads at most the first `limit` bytes of a body and stops there; a body error ends the read
/// with what arrived before it. For error bodies: their start (the JSON error, or the text of an
/// error page) is what says what went wrong, and a huge one must not cost more than `limit`.
pub async fn collect_prefix<B>(body: B, limit: usize) -> Bytes
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut out = BytesMut::new();
    while out.len() < limit {
        let Some(Ok(frame)) = body.frame().await else {
            break;
        };
        if let Ok(mut data) = frame.into_data() {
            while bytes::Buf::has_remaining(&data) && out.len() < limit {
                let chunk = bytes::Buf::chunk(&data);
                let n = chunk.len().min(limit - out.len());
                out.extend_from_slice(&chunk[..n]);
                bytes::Buf::advance(&mut data, n);
            }
        }
    }
    out.freeze()
}

pin_project_lite::pin_project! {
    struct StreamFrames<S> {
        #[pin]
        stream: S,
    }
}

impl<S, E> Body for StreamFrames<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.project()
            .stream
            .poll_next(cx)
            .map(|item| item.map(|res| res.map(Frame::data).map_err(Into::into)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn collect_limited_rejects_oversized_bodies() {
        let err = collect_limited(full("0123456789"), 4).await.unwrap_err();
        assert!(err.is_body());
        assert_eq!(&collect(full("0123")).await.unwrap()[..], b"0123");
        assert!(collect(empty()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn collect_prefix_keeps_the_start_of_a_long_or_broken_body() {
        assert_eq!(&collect_prefix(full("0123456789"), 4).await[..], b"0123");
        assert_eq!(&collect_prefix(full("0123"), 64).await[..], b"0123");
        let chunks = vec![
            Ok(Bytes::from("ab")),
            Ok(Bytes::from("cd")),
            Err(std::io::Error::other("reset")),
        ];
        let body = from_stream(futures_util::stream::iter(chunks));
        assert_eq!(&collect_prefix(body, 3).await[..], b"abc");
        let chunks = vec![Ok(Bytes::from("ab")), Err(std::io::Error::other("reset"))];
        let body = from_stream(futures_util::stream::iter(chunks));
        assert_eq!(&collect_prefix(body, 64).await[..], b"ab");
    }

    #[tokio::test]
    async fn stream_errors_surface_as_body_errors() {
        let chunks = vec![Ok(Bytes::from("a")), Err(std::io::Error::other("reset"))];
        let body = from_stream(futures_util::stream::iter(chunks));
        assert!(collect(body).await.unwrap_err().is_body());
    }
}
