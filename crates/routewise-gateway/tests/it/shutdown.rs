//! Graceful shutdown: streams in flight finish, new connections are refused.

use std::time::Duration;

use crate::common::{client, parse_sse, start, streamed_text};
use serde_json::json;

#[tokio::test]
async fn shutdown_drains_streams_in_flight() {
    // About 40 deltas at 100 tokens/s: each stream lasts a few hundred milliseconds.
    let gw = start(
        r#"
[server]
shutdown_grace_ms = 10000

[[deployments]]
name = "slow"
upstream = { kind = "emulator", ttft_ms = 50, tokens_per_second = 100 }
"#,
    )
    .await;
    let url = format!("{}/responses", gw.base_url());
    let mut streams = Vec::new();
    for i in 0..4 {
        let resp = client()
            .post(&url)
            .json(&json!({"model": "slow", "input": format!("Describe stream number {i} in detail."), "stream": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        streams.push(tokio::spawn(async move { resp.text().await }));
    }
    let addr = gw.local_addr();
    let started = std::time::Instant::now();
    gw.shutdown().await;
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "shutdown did not wait for the streams"
    );
    for s in streams {
        let text = s.await.unwrap().expect("stream completed");
        let events = parse_sse(&text);
        assert_eq!(events.last().unwrap().0, "response.completed");
        assert!(streamed_text(&events).starts_with("[emulated slow]"));
    }
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn readyz_reports_draining_during_shutdown() {
    let cfg = routewise_gateway::Config::from_toml_str(
        "[[deployments]]\nname = \"slow\"\nupstream = { kind = \"emulator\", ttft_ms = 5, tokens_per_second = 50 }\n",
        "t.toml",
    )
    .unwrap();
    let gateway = routewise_gateway::Gateway::from_config(cfg).unwrap();
    // The in-process router shares state with the bound server.
    let mut app = gateway.router();
    let running = gateway.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let readyz = || {
        http::Request::get("/readyz")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let status = tower::Service::call(&mut app, readyz())
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    // A stream is in flight once its headers arrived; it then runs for about a second.
    let resp = client()
        .post(format!("{}/responses", running.base_url()))
        .json(&json!({"model": "slow", "input": "Tell me a long story.", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let shutdown = tokio::spawn(running.shutdown());
    let mut draining = false;
    for _ in 0..100 {
        if tower::Service::call(&mut app, readyz())
            .await
            .unwrap()
            .status()
            == 503
        {
            draining = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(draining, "readyz never reported draining");
    assert!(
        !shutdown.is_finished(),
        "shutdown did not wait for the stream"
    );
    let events = parse_sse(&resp.text().await.unwrap());
    assert_eq!(events.last().unwrap().0, "response.completed");
    shutdown.await.unwrap();
}
