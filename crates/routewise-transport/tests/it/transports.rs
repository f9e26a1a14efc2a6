//! The built-in transports against a local server: request round trip, a streaming body that
//! arrives chunk by chunk, connect errors, and the timeout layer on real sockets.
#![cfg(any(feature = "reqwest", feature = "hyper"))]

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use routewise_transport::sse::SseStream;
use routewise_transport::{TimeoutLayer, Transport, body};
use tower_layer::Layer;

/// Fails the test instead of hanging if a transport buffers a body it should stream.
const GUARD: Duration = Duration::from_secs(10);

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

async fn round_trip(t: &dyn Transport) {
    let server = crate::support::spawn().await;
    let req = http::Request::post(server.url("/echo"))
        .header("x-custom", "42")
        .body(Bytes::from_static(b"{\"input\":\"hi\"}"))
        .unwrap();
    let res = t.send(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-echo-method"], "POST");
    assert_eq!(res.headers()["x-echo-custom"], "42");
    assert_eq!(
        &body::collect(res.into_body()).await.unwrap()[..],
        b"{\"input\":\"hi\"}"
    );

    let res = t.send(get(&server.url("/missing"))).await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        body::collect(res.into_body())
            .await
            .unwrap()
            .starts_with(b"<html>")
    );
}

async fn streams_chunk_by_chunk(t: &dyn Transport) {
    let server = crate::support::spawn().await;
    let res = t.send(get(&server.url("/stream"))).await.unwrap();
    let mut events = SseStream::new(res.into_body());
    // The server holds the second event back until we saw the first: a buffering transport
    // would never return it.
    let first = tokio::time::timeout(GUARD, events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.event.as_deref(), Some("one"));
    server.release.notify_one();
    let second = tokio::time::timeout(GUARD, events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.event.as_deref(), Some("two"));
    assert!(events.next().await.is_none());
}

async fn connect_errors(t: &dyn Transport) {
    let addr = crate::support::closed_port().await;
    let err = t.send(get(&format!("http://{addr}/"))).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

async fn timeouts(t: &dyn Transport) {
    let server = crate::support::spawn().await;
    let layer = TimeoutLayer::new()
        .response_header_timeout(Duration::from_millis(200))
        .idle_timeout(Duration::from_millis(200));
    let t = layer.layer(t);

    let err = t.send(get(&server.url("/hang"))).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    let res = t.send(get(&server.url("/stall"))).await.unwrap();
    let mut events = SseStream::new(res.into_body());
    assert_eq!(events.next().await.unwrap().unwrap().data, "first");
    let err = events.next().await.unwrap().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(events.next().await.is_none());
}

/// Redirects are handed back, never followed: a cross-origin hop would carry the `api-key`
/// header (only `authorization` is stripped) and, on 307/308, the body.
async fn redirects_are_not_followed(t: &dyn Transport) {
    let server = crate::support::spawn().await;
    let elsewhere = crate::support::spawn().await;
    for status in [301, 302, 303, 307, 308] {
        let path = format!("/redirect/{status}/{}", elsewhere.addr.port());
        let req = http::Request::post(server.url(&path))
            .header("api-key", "SUPERSECRET-KEY")
            .body(Bytes::from_static(b"{\"input\":\"a private prompt\"}"))
            .unwrap();
        let res = t.send(req).await.unwrap();
        assert_eq!(res.status(), status);
        assert!(res.headers().contains_key("location"));
    }
    assert_eq!(elsewhere.received(), 0, "the redirect target saw a request");
}

async fn all(t: &dyn Transport) {
    round_trip(t).await;
    streams_chunk_by_chunk(t).await;
    connect_errors(t).await;
    timeouts(t).await;
    redirects_are_not_followed(t).await;
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn reqwest_transport() {
    all(&routewise_transport::ReqwestTransport::new()).await;
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn reqwest_transport_with_client() {
    let client = reqwest::Client::builder().build().unwrap();
    round_trip(&routewise_transport::ReqwestTransport::with_client(client)).await;
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn hyper_transport() {
    all(&routewise_transport::HyperTransport::builder()
        .build()
        .unwrap())
    .await;
}

/// Collects everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn spans_never_show_secrets(t: &dyn Transport) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    crate::support::share_callsite_interest();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = crate::support::spawn().await;
    let req = http::Request::post(server.url("/echo?sig=query-secret"))
        .header("authorization", "Bearer token-secret")
        .header("api-key", "key-secret")
        .body(Bytes::from_static(b"body"))
        .unwrap();
    let res = t.send(req).await.unwrap();
    assert_eq!(res.status(), 200);
    drop(res);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in ["token-secret", "key-secret", "query-secret"] {
        assert!(!logs.contains(secret), "{secret} leaked into: {logs}");
    }
    assert!(logs.contains("http.send"), "{logs}");
    assert!(
        logs.contains("url.path=\"/echo\"") || logs.contains("url.path=/echo"),
        "{logs}"
    );
    assert!(logs.contains("http.response.status_code=200"), "{logs}");
    logs
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn reqwest_spans_never_show_secrets() {
    let logs = spans_never_show_secrets(&routewise_transport::ReqwestTransport::new()).await;
    assert!(logs.contains("transport=\"reqwest\""), "{logs}");
}

#[cfg(feature = "hyper")]
#[tokio::test]
async fn hyper_spans_never_show_secrets() {
    let transport = routewise_transport::HyperTransport::builder()
        .build()
        .unwrap();
    let logs = spans_never_show_secrets(&transport).await;
    assert!(logs.contains("transport=\"hyper\""), "{logs}");
}
