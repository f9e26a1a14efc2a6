//! The tracing span every built-in transport opens per request.
//!
//! Only the method, host, path, status and latency are recorded: headers (credentials) and the
//! query string (SAS signatures, keys in some proxies) never reach the logs.

use std::time::Instant;

use bytes::Bytes;
use tracing::field::Empty;

use crate::{ResponseBody, TransportError};

pub(crate) fn send_span(transport: &'static str, req: &http::Request<Bytes>) -> tracing::Span {
    tracing::debug_span!(
        "http.send",
        transport,
        http.request.method = %req.method(),
        server.address = req.uri().host().unwrap_or_default(),
        url.path = req.uri().path(),
        http.response.status_code = Empty,
        error.kind = Empty,
        latency_ms = Empty,
    )
}

pub(crate) fn record_outcome(
    span: &tracing::Span,
    started: Instant,
    result: &Result<http::Response<ResponseBody>, TransportError>,
) {
    span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
    match result {
        Ok(res) => {
            span.record("http.response.status_code", res.status().as_u16());
        }
        Err(err) => {
            span.record("error.kind", tracing::field::display(err.kind()));
        }
    }
}

/// Runs one connector's send inside its `http.send` span and records the outcome, so every
/// connector reports the same fields the same way.
pub(crate) async fn traced<Fut>(
    transport: &'static str,
    req: http::Request<Bytes>,
    exec: impl FnOnce(http::Request<Bytes>) -> Fut,
) -> Result<http::Response<ResponseBody>, TransportError>
where
    Fut: std::future::Future<Output = Result<http::Response<ResponseBody>, TransportError>>,
{
    use tracing::Instrument;
    let span = send_span(transport, &req);
    let started = Instant::now();
    async move {
        let result = exec(req).await;
        record_outcome(&tracing::Span::current(), started, &result);
        result
    }
    .instrument(span)
    .await
}
