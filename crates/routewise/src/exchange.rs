//! One HTTP exchange: send through the layered transport, classify the status, decode the body.

use bytes::Bytes;
use http::Request;
use routewise_strategy::{AttemptFailure, FailureKind};
use routewise_transport::{ResponseBody, SharedTransport, TransportErrorKind, body};
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind};
use crate::meta::ResponseMeta;

/// The most an error body is read: enough for any JSON error, bounded against misbehaving proxies.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The most a JSON success body is read (a response with long outputs stays far below it).
const SUCCESS_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Sends `req` and returns the response if its status is a success; otherwise reads the (bounded)
/// body and turns it into a typed [`Error`].
pub(crate) async fn send(
    transport: &SharedTransport,
    req: Request<Bytes>,
) -> Result<(http::response::Parts, ResponseBody, ResponseMeta), Error> {
    let response = transport.send(req).await?;
    let (parts, body) = response.into_parts();
    if parts.status.is_success() {
        let meta = ResponseMeta::from_headers(&parts.headers);
        return Ok((parts, body, meta));
    }
    // Only the start of the body is kept: it holds the JSON error or the page's text, and a
    // body cut short (or over the limit) still yields the status error with what it said.
    let bytes = body::collect_prefix(body, ERROR_BODY_LIMIT).await;
    Err(Error::from_http(parts.status, &parts.headers, &bytes))
}

/// True when a success answer is JSON rather than the event stream that was asked for.
pub(crate) fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim())
        .is_some_and(|v| v.eq_ignore_ascii_case("application/json") || v.ends_with("+json"))
}

/// What a stream request answered with JSON becomes. A response object (from a server that
/// ignores `stream`) is replayed as the event stream that would have carried it, so the caller
/// still sees its deltas; an error envelope (some servers report a failure with a 200) is that
/// error; anything else is a protocol error with a snippet. Read as an event stream, JSON
/// would lose all three.
pub(crate) async fn json_instead_of_stream(body: ResponseBody) -> Result<ResponseBody, Error> {
    let bytes = body::collect_limited(body, SUCCESS_BODY_LIMIT).await?;
    let value = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    if let Some(value) = value.as_ref().filter(|v| v["object"] == "response")
        && let Some(events) = routewise_types::replay(value)
    {
        let mut sse = String::new();
        for event in events {
            let ty = event["type"].as_str().unwrap_or("message");
            sse.push_str(&format!("event: {ty}\ndata: {event}\n\n"));
        }
        return Ok(body::full(sse));
    }
    let error = value
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object());
    Err(match error {
        Some(e) => {
            let text = |key: &str| e.get(key).and_then(serde_json::Value::as_str);
            Error::in_band(
                text("code"),
                text("message").unwrap_or_default(),
                text("param"),
            )
        }
        None => Error::new(
            ErrorKind::StreamProtocol,
            "the server answered a stream request with JSON that is neither a response nor an \
             error",
        )
        .with_snippet(&bytes),
    })
}

/// Sends `req` and decodes a JSON success body into `T`.
pub(crate) async fn send_json<T: DeserializeOwned>(
    transport: &SharedTransport,
    req: Request<Bytes>,
) -> Result<(T, ResponseMeta), Error> {
    let (_parts, body, meta) = send(transport, req).await?;
    let bytes = body::collect_limited(body, SUCCESS_BODY_LIMIT)
        .await
        .map_err(|e| Error::from(e).with_meta(meta.clone()))?;
    let value = decode(&bytes).map_err(|e| e.with_meta(meta.clone()))?;
    Ok((value, meta))
}

/// Decodes JSON, naming the JSON path and keeping a snippet on failure.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    routewise_types::parse(bytes).map_err(|e| {
        Error::new(ErrorKind::Decode, format!("unexpected response body: {e}"))
            .with_snippet(bytes)
            .with_source(e)
    })
}

impl Error {
    /// How the failover policy sees this error. The error itself rides along as the source so
    /// the caller gets it back intact.
    pub(crate) fn to_attempt_failure(&self) -> AttemptFailure {
        let message = self.message().to_owned();
        let failure = if self.is_content_filtered() {
            AttemptFailure::content_filter(message)
        } else if let Some(status) = self.status() {
            AttemptFailure::status(status.as_u16(), message)
        } else {
            let kind = match self.kind() {
                ErrorKind::Connect => FailureKind::Connect,
                ErrorKind::Timeout => FailureKind::Timeout,
                ErrorKind::StreamFailed | ErrorKind::StreamProtocol => FailureKind::Stream,
                // The connection broke: before the headers it is as good as a connect error,
                // after them (a reset body) it is a stream that ended early.
                ErrorKind::Transport if self.transport_kind() == Some(TransportErrorKind::Io) => {
                    FailureKind::Connect
                }
                ErrorKind::Transport => FailureKind::Stream,
                _ => FailureKind::Other,
            };
            AttemptFailure::new(kind, message)
        };
        let failure = match self.code() {
            Some(code) => failure.with_code(code),
            None => failure,
        };
        let failure = match self.meta().retry_after {
            Some(delay) => failure.with_retry_after(delay),
            None => failure,
        };
        failure.with_source(self.clone())
    }

    /// Recovers the client error a failure was made from, or wraps the failure.
    pub(crate) fn from_attempt_failure(failure: &AttemptFailure) -> Self {
        if let Some(err) = failure
            .source_error()
            .and_then(|e| e.downcast_ref::<Error>())
        {
            return err.clone();
        }
        let kind = match failure.kind() {
            FailureKind::Connect => ErrorKind::Connect,
            FailureKind::Timeout => ErrorKind::Timeout,
            FailureKind::Stream => ErrorKind::StreamFailed,
            FailureKind::Status(s) => {
                http::StatusCode::from_u16(s).map_or(ErrorKind::Status, ErrorKind::from_status)
            }
            _ => ErrorKind::Route,
        };
        Error::new(kind, failure.message().to_owned())
    }
}
