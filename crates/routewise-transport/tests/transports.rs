//! The built-in transports against a local server: request round trip, a streaming body that
//! arrives chunk by chunk, connect errors, and the timeout layer on real sockets.
#![cfg(any(feature = "reqwest", feature = "hyper"))]

mod support;

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
    let server = support::spawn().await;
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
    let server = support::spawn().await;
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
    let addr = support::closed_port().await;
    let err = t.send(get(&format!("http://{addr}/"))).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

async fn timeouts(t: &dyn Transport) {
    let server = support::spawn().await;
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

async fn all(t: &dyn Transport) {
    round_trip(t).await;
    streams_chunk_by_chunk(t).await;
    connect_errors(t).await;
    timeouts(t).await;
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
