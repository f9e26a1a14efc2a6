//! The tower layers every request passes through, outermost first: the server's own
//! `UnreadBodyLayer` (`Connection: close` on an answer that left the request body unread),
//! [`RequestIdLayer`] (ids on every response), [`HeaderLimitLayer`] (an oversized head becomes
//! a JSON 431), [`CatchPanicLayer`] (a panic becomes a 500, the server keeps serving) and
//! [`AccessLayer`] (api-key / bearer check and the key's principal, when configured).

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Either, Ready, ready};
use http::{HeaderName, HeaderValue, Request, header};
use routewise_auth::Secret;
use tower::{Layer, Service};

use crate::access::{Caller, KeyTable, LEGACY_PRINCIPAL, Principal, Role};
use crate::error::GatewayError;

/// `x-request-id`: our id for the request, as Azure and OpenAI send it.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `apim-request-id`: Azure API Management's id, same value.
pub const APIM_REQUEST_ID: HeaderName = HeaderName::from_static("apim-request-id");
/// `x-ms-client-request-id`: the caller's id, echoed back.
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");

/// The request id, available to handlers as a request extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// Adds `x-request-id` and `apim-request-id` to every response and echoes
/// `x-ms-client-request-id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService { inner }
    }
}

/// The service made by [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for RequestIdService<S>
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

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let id = new_request_id();
        let echo = req.headers().get(CLIENT_REQUEST_ID).cloned();
        req.extensions_mut().insert(RequestId(id.clone()));
        let fut = self.inner.call(req);
        async move {
            let mut resp = fut.await?;
            let h = resp.headers_mut();
            h.insert(X_REQUEST_ID, id.clone());
            h.insert(APIM_REQUEST_ID, id);
            if let Some(echo) = echo {
                h.insert(CLIENT_REQUEST_ID, echo);
            }
            Ok(resp)
        }
        .boxed()
    }
}

/// A random UUID v4, as Azure formats request ids.
fn new_request_id() -> HeaderValue {
    let mut v: u128 = rand::random();
    v = (v & !(0xF << 76)) | (0x4 << 76);
    v = (v & !(0x3 << 62)) | (0x2 << 62);
    let s = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (v >> 96) as u32,
        (v >> 80) as u16,
        (v >> 64) as u16,
        (v >> 48) as u16,
        v & 0xFFFF_FFFF_FFFF
    );
    HeaderValue::from_str(&s)
        .unwrap_or_else(|_| HeaderValue::from_static("00000000-0000-4000-8000-000000000000"))
}

/// Refuses a request whose head (request line and headers) is larger than `max_bytes` or has
/// more than `max_headers` headers, with a 431 in the OpenAI/Azure error shape.
///
/// hyper answers an over-limit head itself, with an empty 431; [`Gateway::bind`](crate::Gateway::bind)
/// therefore gives hyper twice these limits, so heads between ours and twice ours get this
/// JSON error, and only larger ones (which hyper must stop buffering) get hyper's bare 431.
///
/// ```
/// use routewise_gateway::layers::HeaderLimitLayer;
/// let layer = HeaderLimitLayer::new(64 * 1024, 100);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HeaderLimitLayer {
    max_bytes: usize,
    max_headers: usize,
}

impl HeaderLimitLayer {
    /// Heads up to `max_bytes` with at most `max_headers` headers pass.
    pub fn new(max_bytes: usize, max_headers: usize) -> Self {
        Self {
            max_bytes,
            max_headers,
        }
    }
}

impl<S> Layer<S> for HeaderLimitLayer {
    type Service = HeaderLimitService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        HeaderLimitService {
            inner,
            limits: *self,
        }
    }
}

/// The service made by [`HeaderLimitLayer`].
#[derive(Debug, Clone)]
pub struct HeaderLimitService<S> {
    inner: S,
    limits: HeaderLimitLayer,
}

/// The size of a request head as it came over HTTP/1.1: `METHOD TARGET HTTP/1.1\r\n`, then
/// `name: value\r\n` per header and the closing `\r\n`.
fn head_bytes(req: &Request<Body>) -> usize {
    let target = req.uri().path_and_query().map_or(1, |p| p.as_str().len());
    let line = req.method().as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    req.headers()
        .iter()
        .fold(line + 2, |n, (k, v)| n + k.as_str().len() + 2 + v.len() + 2)
}

impl<S> Service<Request<Body>> for HeaderLimitService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Ready<Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let HeaderLimitLayer {
            max_bytes,
            max_headers,
        } = self.limits;
        if req.headers().len() > max_headers || head_bytes(&req) > max_bytes {
            let err = GatewayError::HeadersTooLarge {
                limit: max_bytes,
                max_headers,
            };
            return Either::Right(ready(Ok(err.into_response())));
        }
        Either::Left(self.inner.call(req))
    }
}

/// Turns a panic in a handler into a 500 in the OpenAI/Azure shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanicService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CatchPanicService { inner }
    }
}

/// The service made by [`CatchPanicLayer`].
#[derive(Debug, Clone)]
pub struct CatchPanicService<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for CatchPanicService<S>
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
        let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(fut) => fut,
            Err(_) => return async { Ok(panic_response()) }.boxed(),
        };
        AssertUnwindSafe(fut)
            .catch_unwind()
            .map(|r| r.unwrap_or_else(|_| Ok(panic_response())))
            .boxed()
    }
}

fn panic_response() -> Response {
    tracing::error!("a request handler panicked; answered 500");
    GatewayError::Internal {
        message: "The server had an error while processing your request.".into(),
    }
    .into_response()
}

/// Requires `api-key: K` or `Authorization: Bearer K` with one of the configured keys, and
/// resolves the key's principal once: it is attached to the request (for the handlers' role,
/// allow-list, data-zone and ownership checks) and to the response (for the access log).
/// `/healthz` and `/readyz` stay open for probes. A missing or unknown key is a 401.
#[derive(Debug, Clone)]
pub struct AccessLayer {
    keys: Arc<KeyTable>,
}

impl AccessLayer {
    /// Accepts these keys, each with full access (the `admin` principal
    /// [`LEGACY_PRINCIPAL`](crate::access::LEGACY_PRINCIPAL), as `[access] api_keys_env`).
    pub fn new(keys: impl IntoIterator<Item = Secret>) -> Self {
        let admin = Arc::new(Principal::unrestricted(LEGACY_PRINCIPAL, Role::Admin));
        let entries = keys.into_iter().map(|k| (k, Arc::clone(&admin))).collect();
        Self::from_table(Arc::new(KeyTable::new(entries)))
    }

    /// Accepts the keys of `table`, each as its principal.
    pub(crate) fn from_table(keys: Arc<KeyTable>) -> Self {
        Self { keys }
    }
}

impl<S> Layer<S> for AccessLayer {
    type Service = AccessService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AccessService {
            inner,
            keys: Arc::clone(&self.keys),
        }
    }
}

/// The service made by [`AccessLayer`].
#[derive(Debug, Clone)]
pub struct AccessService<S> {
    inner: S,
    keys: Arc<KeyTable>,
}

/// The key a request presents: `api-key`, else an `Authorization: Bearer` value.
fn presented_key(req: &Request<Body>) -> Option<&str> {
    let h = req.headers();
    let key = h.get("api-key").and_then(|v| v.to_str().ok()).or_else(|| {
        h.get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
    })?;
    Some(key.trim())
}

impl<S> Service<Request<Body>> for AccessService<S>
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

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let path = req.uri().path();
        if path == "/healthz" || path == "/readyz" {
            return self.inner.call(req).boxed();
        }
        let principal = presented_key(&req).and_then(|k| self.keys.lookup(k));
        let Some(principal) = principal else {
            return async { Ok(GatewayError::Unauthorized.into_response()) }.boxed();
        };
        let caller = Caller::Principal(Arc::clone(principal));
        req.extensions_mut().insert(caller.clone());
        let fut = self.inner.call(req);
        async move {
            let mut resp = fut.await?;
            // The access-log layer, outside this one, names the principal from here.
            resp.extensions_mut().insert(caller);
            Ok(resp)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handler with a bug.
    #[derive(Clone)]
    struct Panics;

    impl Service<Request<Body>> for Panics {
        type Response = Response;
        type Error = Infallible;
        type Future = BoxFuture<'static, Result<Response, Infallible>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, req: Request<Body>) -> Self::Future {
            let in_future = req.uri().path() == "/later";
            if !in_future {
                panic!("bug while building the future");
            }
            async { panic!("bug while running the future") }.boxed()
        }
    }

    #[tokio::test]
    async fn panics_become_shaped_500s_with_ids() {
        let mut svc = RequestIdLayer.layer(CatchPanicLayer.layer(Panics));
        for path in ["/now", "/later"] {
            let req = Request::get(path)
                .header(CLIENT_REQUEST_ID, "c1")
                .body(Body::empty())
                .unwrap();
            let resp = svc.call(req).await.unwrap();
            assert_eq!(resp.status(), 500);
            assert_eq!(resp.headers()[CLIENT_REQUEST_ID], "c1");
            assert!(resp.headers().contains_key(APIM_REQUEST_ID));
            let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], "server_error");
        }
    }

    #[tokio::test]
    async fn access_layer_checks_keys_but_not_probes() {
        let mut svc = AccessLayer::new([Secret::new("k")]).layer(Panics);
        let req = Request::get("/x").body(Body::empty()).unwrap();
        assert_eq!(svc.call(req).await.unwrap().status(), 401);
        let mut ok = AccessLayer::new([Secret::new("k")]).layer(CatchPanicLayer.layer(Panics));
        // A right key reaches the (panicking) inner service: 500, not 401.
        let req = Request::get("/later")
            .header("api-key", "k")
            .body(Body::empty())
            .unwrap();
        assert_eq!(ok.call(req).await.unwrap().status(), 500);
        let req = Request::get("/healthz").body(Body::empty()).unwrap();
        assert_eq!(ok.call(req).await.unwrap().status(), 500);
    }

    #[test]
    fn request_ids_are_uuid_v4() {
        let id = new_request_id();
        let s = id.to_str().unwrap();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"), "{s}");
        assert_ne!(new_request_id(), id);
    }
}
