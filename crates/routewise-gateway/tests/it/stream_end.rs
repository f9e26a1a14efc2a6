//! How a foreground stream ends when its upstream does not end it cleanly: a clean EOF before
//! the final event, a cut or idle upstream (the gateway's own `error` then `response.failed`,
//! numbered after the upstream's events), and what follows a final event (a short wait, then a
//! quiet end); keep-alive comments keep an upstream alive.

use std::time::{Duration, Instant};

use routewise_testkit::fixtures::{HELLO_STREAM, split_frames};
use routewise_testkit::{Script, SseFaultServer};
use serde_json::{Value, json};

use crate::common::logs::capture_json;
use crate::common::{get_json, parse_sse, post, sse, start, streamed_text};
use routewise_testkit::RedisServer;

/// `extra` (tables such as `[server]` or `[store]`), then one deployment `nano` on `upstream`.
fn pinned(upstream: &SseFaultServer, extra: &str) -> String {
    format!(
        "{extra}\n[[deployments]]\nname = \"nano\"\nmodel = \"gpt-4.1-nano-2025-04-14\"\n\
         upstream = {{ kind = \"openai_compatible\", base_url = \"{}\" }}\n",
        upstream.openai_base_url()
    )
}

/// The first `n` frames of the digest's stream (`response.created` .. ), one chunk each.
fn hello_frames(n: usize) -> Script {
    split_frames(HELLO_STREAM)[..n]
        .iter()
        .fold(Script::sse(), |s, f| s.frame((*f).to_owned()))
}

fn kinds(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(e, _)| e.as_str()).collect()
}

fn seqs(events: &[(String, Value)]) -> Vec<Option<u64>> {
    events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64())
        .collect()
}

fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-request-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_clean_eof_before_the_final_event_fails_the_response_and_stores_it() {
    let (capture, _guard) = capture_json();
    let redis = RedisServer::start();
    // Everything up to the last delta, then a clean end of the body.
    let upstream = SseFaultServer::start(hello_frames(6)).await.unwrap();
    let store = format!("[store]\nredis_url = \"{}\"\n", redis.url());
    let gw = start(&pinned(&upstream, &store)).await;
    let resp = post(
        &gw,
        &json!({"model": "nano", "input": "hi", "stream": true}),
    )
    .await;
    let id = request_id(&resp);
    let events = sse(resp).await;
    assert_eq!(streamed_text(&events), "Hello!");
    assert_eq!(
        &kinds(&events)[4..],
        [
            "response.output_text.delta",
            "response.output_text.delta",
            "error",
            "response.failed"
        ],
        "{events:?}"
    );
    let n = events.len();
    let error = &events[n - 2].1;
    assert_eq!(error["code"], "server_error");
    assert_eq!(
        error["message"],
        "The upstream stream ended before its final event."
    );
    let failed = &events[n - 1].1["response"];
    assert_eq!(failed["id"], "resp_1", "the id from response.created");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "server_error");
    assert_eq!(failed["model"], "gpt-4.1-nano-2025-04-14");
    // The gateway's frames continue the upstream's numbering.
    let expected: Vec<Option<u64>> = (0..n as u64).map(Some).collect();
    assert_eq!(seqs(&events), expected);

    // The failed response was stored under the id the client saw first.
    let got = get_json(format!("{}/responses/resp_1", gw.base_url())).await;
    assert_eq!(got["id"], "resp_1");
    assert_eq!(got["status"], "failed");
    assert_eq!(got["error"]["code"], "server_error");

    let ev = capture.event_for(&id).await;
    assert_eq!(ev["routewise.outcome"], "stream_error");
    gw.shutdown().await;
}

#[tokio::test]
async fn the_gateway_s_own_error_frames_are_numbered_and_followed_by_response_failed() {
    // Cut after the first delta, and stalled after it (the idle timeout).
    for (script, code) in [
        (hello_frames(5).drop_connection(), "server_error"),
        (hello_frames(5).stall(), "timeout"),
    ] {
        let upstream = SseFaultServer::start(script).await.unwrap();
        let gw = start(&pinned(&upstream, "[server]\nupstream_timeout_ms = 500\n")).await;
        let resp = post(
            &gw,
            &json!({"model": "nano", "input": "hi", "stream": true}),
        )
        .await;
        let events = parse_sse(&resp.text().await.unwrap());
        assert_eq!(streamed_text(&events), "Hel");
        assert_eq!(
            &kinds(&events)[4..],
            ["response.output_text.delta", "error", "response.failed"],
            "{code}: {events:?}"
        );
        // Upstream events 0..=4, then the gateway's 5 and 6.
        assert_eq!(
            seqs(&events),
            (0..7).map(Some).collect::<Vec<_>>(),
            "{code}"
        );
        assert_eq!(events[5].1["code"], code);
        let failed = &events[6].1["response"];
        assert_eq!(failed["id"], "resp_1");
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["error"]["code"], code);
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn after_the_final_event_the_stream_ends_quietly_and_soon() {
    let (capture, _guard) = capture_json();
    // A completed stream whose connection then stays open, silent; the idle timeout is the
    // default 600 s.
    let upstream = SseFaultServer::start(Script::from_sse_body(HELLO_STREAM).stall())
        .await
        .unwrap();
    let gw = start(&pinned(&upstream, "")).await;
    let started = Instant::now();
    let resp = post(
        &gw,
        &json!({"model": "nano", "input": "hi", "stream": true}),
    )
    .await;
    let id = request_id(&resp);
    let text = tokio::time::timeout(Duration::from_secs(10), resp.text())
        .await
        .expect("the stream ends soon after its final event")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let events = parse_sse(&text);
    assert_eq!(events, parse_sse(HELLO_STREAM), "nothing appended");
    let ev = capture.event_for(&id).await;
    assert_eq!(ev["routewise.outcome"], "completed");
    gw.shutdown().await;
}

#[tokio::test]
async fn keep_alive_comments_keep_an_upstream_alive() {
    // Silent but for comments for longer than the idle timeout, then the rest of the answer.
    let frames = split_frames(HELLO_STREAM);
    let mut script = hello_frames(5);
    for _ in 0..8 {
        script = script.frame_after(Duration::from_millis(150), ": keep-alive\n\n");
    }
    for f in &frames[5..] {
        script = script.frame((*f).to_owned());
    }
    let upstream = SseFaultServer::start(script).await.unwrap();
    let gw = start(&pinned(&upstream, "[server]\nupstream_timeout_ms = 600\n")).await;
    let events = sse(post(
        &gw,
        &json!({"model": "nano", "input": "hi", "stream": true}),
    )
    .await)
    .await;
    assert_eq!(events, parse_sse(HELLO_STREAM));
    gw.shutdown().await;
}
