//! [`AccessLogLayer`]: stamps each request's arrival and logs the requests no handler logs
//! itself (other routes, and `create` requests refused before the handler: 401, 431, panics).

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::response::Response;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http::Request;
use tower::{Layer, Service};

use super::access::{Access, Arrival, ErrorCode, Logged, Route};
use super::metrics::Metrics;
use crate::access::Caller;
use crate::server::layers::RequestId;

/// Sits inside `RequestIdLayer` (it reads the id) and outside every other layer.
#[derive(Debug, Clone)]
pub(crate) struct AccessLogLayer {
    metrics: Arc<Metrics>,
}

impl AccessLogLayer {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLogService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AccessLogService {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// The service made by [`AccessLogLayer`].
#[derive(Debug, Clone)]
pub(crate) struct AccessLogService<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> Service<Request<Body>> for AccessLogService<S>
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
        let started = Instant::now();
        let route = Route::of(req.method(), req.uri().path());
        let id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        let mut access = Access::new(
            Arc::clone(&self.metrics),
            started,
            id,
            req.method().clone(),
            route,
        );
        if route == Route::Create {
            // The handler logs a create request, also when it is cancelled; this record
            // speaks only if the handler never answered (refused by an inner layer).
            access.dismiss();
        }
        req.extensions_mut().insert(Arrival(started));
        let fut = self.inner.call(req);
        async move {
            let resp = fut.await?;
            if resp.extensions().get::<Logged>().is_some() {
                access.dismiss();
            } else {
                // The access layer put the caller here (absent when refused with a 401, or
                // with access control off).
                if let Some(Caller::Principal(p)) = resp.extensions().get::<Caller>() {
                    access.principal = Some(Arc::clone(p));
                }
                access.status = Some(resp.status().as_u16());
                access.error_code = resp.extensions().get::<ErrorCode>().map(|c| c.0.clone());
                access.emit();
            }
            Ok(resp)
        }
        .boxed()
    }
}
