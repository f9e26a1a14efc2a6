//! The `Transport` trait: the plug-in point for HTTP stacks.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{ResponseBody, TransportError};

/// Sends one HTTP request and returns the response with a streaming body.
///
/// One call is one attempt: retries, timeouts and auth are layers on top
/// ([`RetryLayer`](crate::RetryLayer), [`TimeoutLayer`](crate::TimeoutLayer)). The request body is
/// a [`Bytes`] so a layer can replay it cheaply. Dropping the returned future cancels the
/// request, and dropping the response body closes the stream.
///
/// The trait is object safe; share one as a [`SharedTransport`].
///
/// ```
/// use async_trait::async_trait;
/// use bytes::Bytes;
/// use routewise_transport::{body, ResponseBody, Transport, TransportError};
///
/// /// Answers every request with the same JSON, e.g. for a test.
/// #[derive(Debug)]
/// struct Canned;
///
/// #[async_trait]
/// impl Transport for Canned {
///     async fn send(
///         &self,
///         _req: http::Request<Bytes>,
///     ) -> Result<http::Response<ResponseBody>, TransportError> {
///         Ok(http::Response::new(body::full(r#"{"ok":true}"#)))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let shared: routewise_transport::SharedTransport = std::sync::Arc::new(Canned);
/// let res = shared.send(http::Request::new(Bytes::new())).await.unwrap();
/// assert_eq!(res.status(), 200);
/// # }
/// ```
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `req` and resolves once the response headers arrived.
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError>;
}

/// A cheaply clonable, type-erased transport.
pub type SharedTransport = Arc<dyn Transport>;

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        (**self).send(req).await
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Box<T> {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        (**self).send(req).await
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for &T {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        (**self).send(req).await
    }
}
