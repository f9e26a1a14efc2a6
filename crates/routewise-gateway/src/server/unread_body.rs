//! [`UnreadBodyLayer`]: a response sent before its request body was read says
//! `Connection: close`.
//!
//! Many answers come before the body is read: a 401 for a bad key, a 403 from a role, a 404 or
//! 405 for an unknown route. hyper then closes the connection rather than read a body nobody
//! wants, but says nothing, so a keep-alive client that sends its next request on that
//! connection gets a broken pipe. Saying `Connection: close` (RFC 9112 §9.6) lets it open a new
//! one instead. Reading the body first would make an unauthenticated caller's upload our cost.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http::{HeaderValue, Request, header};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tower::{Layer, Service};

/// Adds `Connection: close` to a response whose request body was not read to its end.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UnreadBodyLayer;

impl<S> Layer<S> for UnreadBodyLayer {
    type Service = UnreadBodyService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        UnreadBodyService { inner }
    }
}

/// The service made by [`UnreadBodyLayer`].
#[derive(Debug, Clone)]
pub(crate) struct UnreadBodyService<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for UnreadBodyService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // Most GETs have no body: nothing to track, nothing allocated.
        if req.body().is_end_stream() {
            return self.inner.call(req).boxed();
        }
        let ended = Arc::new(AtomicBool::new(false));
        let req = req.map(|inner| {
            Body::new(Tracked {
                inner,
                ended: Arc::clone(&ended),
            })
        });
        let fut = self.inner.call(req);
        async move {
            let mut resp = fut.await?;
            if !ended.load(Ordering::Acquire) {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(resp)
        }
        .boxed()
    }
}

/// A request body that records when it has been read to its end.
struct Tracked {
    inner: Body,
    ended: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.ended.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn svc(
        read: bool,
    ) -> impl Service<Request<Body>, Response = Response, Error = Infallible, Future: Send> {
        UnreadBodyLayer.layer(tower::service_fn(move |req: Request<Body>| async move {
            if read {
                let _ = req.into_body().collect().await;
            }
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }))
    }

    fn connection(resp: &Response) -> Option<&str> {
        resp.headers()
            .get(header::CONNECTION)
            .and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn an_unread_body_closes_the_connection() {
        let req = Request::new(Body::from("{\"model\":\"x\"}"));
        let resp = svc(false).oneshot(req).await.unwrap();
        assert_eq!(connection(&resp), Some("close"));
    }

    #[tokio::test]
    async fn a_read_body_or_no_body_keeps_it_open() {
        let req = Request::new(Body::from("{\"model\":\"x\"}"));
        let resp = svc(true).oneshot(req).await.unwrap();
        assert_eq!(connection(&resp), None);
        let resp = svc(false)
            .oneshot(Request::new(Body::empty()))
            .await
            .unwrap();
        assert_eq!(connection(&resp), None);
    }
}
