//! `server.max_connections`: beyond the cap the listener stops accepting, and a slot comes
//! back when a connection ends, including an idle one that the head timeout closes.

use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::common::{FAST_EMULATOR, client, metric, start};

fn config(max_connections: usize, header_read_timeout_ms: u64) -> String {
    format!(
        "[server]\nmax_connections = {max_connections}\n\
         header_read_timeout_ms = {header_read_timeout_ms}\n{FAST_EMULATOR}\
         [[deployments]]\nname = \"fast\"\nupstream = \"emu\"\n"
    )
}

/// A create request on a fresh connection, given `wait` for an answer.
async fn create(base_url: &str, wait: Duration) -> reqwest::Result<reqwest::Response> {
    client()
        .post(format!("{base_url}/responses"))
        .timeout(wait)
        .json(&json!({"model": "fast", "input": "hi"}))
        .send()
        .await
}

#[tokio::test]
async fn a_connection_beyond_the_cap_waits_until_one_ends() {
    // Two idle connections fill a cap of two (the head timeout is far away). A third client
    // is not answered while they stay; when one goes, it is.
    let gw = start(&config(2, 60_000)).await;
    let base = gw.base_url();
    let first = TcpStream::connect(gw.local_addr()).await.unwrap();
    let _second = TcpStream::connect(gw.local_addr()).await.unwrap();
    let waiting = create(&base, Duration::from_millis(700)).await;
    assert!(
        waiting.as_ref().is_err_and(reqwest::Error::is_timeout),
        "served beyond the cap: {waiting:?}"
    );
    drop(first);
    let served = create(&base, Duration::from_secs(10))
        .await
        .expect("served once a slot is free");
    assert_eq!(served.status(), 200);
    drop(served);
    // The gauges: the idle connection and the scrape's own are open, of two.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        assert_eq!(metric(&gw, "routewise_connections_max", &[]).await, 2.0);
        if metric(&gw, "routewise_connections_open", &[]).await == 2.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the served connection's slot was not given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn an_idle_connection_gives_its_slot_back_after_the_head_timeout() {
    // A client that connects and sends nothing must not hold the only slot for good: hyper's
    // head timeout (here 500 ms) closes it, and the waiting client is served.
    let gw = start(&config(1, 500)).await;
    let mut idle = TcpStream::connect(gw.local_addr()).await.unwrap();
    let started = std::time::Instant::now();
    let served = create(&gw.base_url(), Duration::from_secs(10))
        .await
        .expect("served after the idle connection is closed");
    assert_eq!(served.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "served at once, so the idle connection held no slot"
    );
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("the idle connection is closed")
        .unwrap_or(0);
    assert_eq!(n, 0, "the idle connection got bytes instead of a close");
    gw.shutdown().await;
}

#[tokio::test]
async fn the_open_gauge_counts_clients_not_the_accept_loop_s_waiting_slot() {
    // Before, the slot the accept loop holds while it waits for the next client was counted:
    // a lone scrape read 2, and the gauge reached the cap before anyone was kept waiting.
    let gw = start(&config(10, 60_000)).await;
    assert_eq!(metric(&gw, "routewise_connections_open", &[]).await, 1.0);
    let _idle = TcpStream::connect(gw.local_addr()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while metric(&gw, "routewise_connections_open", &[]).await != 2.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle client is not counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gw.shutdown().await;
}
