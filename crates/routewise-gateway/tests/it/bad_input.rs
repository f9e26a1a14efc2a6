//! Bad input gets an OpenAI/Azure-shaped error with the right status, and never takes the
//! server down.

use std::time::Duration;

use crate::common::{
    FAST_EMULATOR, client, error_of, get_json, output_text, post, post_with, start, start_with_env,
};
use routewise_gateway::RunningGateway;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config() -> String {
    format!(
        r#"
[server]
header_read_timeout_ms = 300
{FAST_EMULATOR}
[[deployments]]
name = "fast"
upstream = "emu"

[[deployments]]
name = "other"
upstream = "emu"
"#
    )
}

async fn raw_post(gw: &RunningGateway, body: Vec<u8>) -> reqwest::Response {
    client()
        .post(format!("{}/responses", gw.base_url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn still_serves(gw: &RunningGateway) {
    let resp = post(
        gw,
        &json!({"model": "fast", "input": "Are you still there?"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(output_text(&body).starts_with("[emulated fast] "));
}

#[tokio::test]
async fn every_bad_request_gets_a_shaped_error_and_the_server_survives() {
    let gw = start(&config()).await;

    // Malformed JSON.
    let err = error_of(
        raw_post(&gw, b"{\"model\": \"fast\", \"input\": ".to_vec()).await,
        400,
    )
    .await;
    assert_eq!(err["type"], "invalid_request_error");
    assert_eq!(err["code"], "invalid_json");

    // Wrong types name the path.
    let err = error_of(
        post(
            &gw,
            &json!({"model": "fast", "input": "x", "temperature": "hot"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["param"], "temperature");
    assert_eq!(err["code"], "invalid_type");
    let err = error_of(post(&gw, &json!({"model": 42, "input": "x"})).await, 400).await;
    assert_eq!(err["param"], "model");
    let err = error_of(
        post(
            &gw,
            &json!({"model": "fast", "input": [{"role": "user", "content": 7}]}),
        )
        .await,
        400,
    )
    .await;
    assert!(
        err["param"].as_str().unwrap().starts_with("input[0]"),
        "{err}"
    );

    // Two input items with one id: stored items are paged by id, so a repeat would loop a
    // client paging with `after`. Distinct ids, and item references, are fine.
    let dup = json!({"model": "fast", "input": [
        {"type": "message", "id": "msg_a", "role": "user", "content": "one"},
        {"type": "message", "id": "msg_b", "role": "user", "content": "two"},
        {"type": "message", "id": "msg_a", "role": "user", "content": "three"},
    ]});
    let err = error_of(post(&gw, &dup).await, 400).await;
    assert_eq!(err["param"], "input[2].id", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("'msg_a'"),
        "{err}"
    );
    let fine = json!({"model": "fast", "input": [
        {"type": "message", "id": "msg_a", "role": "user", "content": "one"},
        {"type": "message", "role": "user", "content": "two"},
        {"type": "item_reference", "id": "msg_x"},
        {"type": "item_reference", "id": "msg_x"},
        {"id": "msg_y"},
        {"id": "msg_y"},
        {"type": "message", "role": "user", "content": "three"},
    ]});
    assert_eq!(post(&gw, &fine).await.status(), 200);

    // Missing model, missing input.
    let err = error_of(post(&gw, &json!({"input": "x"})).await, 400).await;
    assert_eq!(
        (err["param"].as_str(), err["code"].as_str()),
        (Some("model"), Some("missing_required_parameter"))
    );
    let err = error_of(post(&gw, &json!({"model": "fast"})).await, 400).await;
    assert_eq!(err["param"], "input");

    // Not an object at all, and an empty body.
    error_of(raw_post(&gw, b"[1, 2, 3]".to_vec()).await, 400).await;
    error_of(raw_post(&gw, Vec::new()).await, 400).await;

    // Invalid UTF-8.
    let err = error_of(
        raw_post(
            &gw,
            b"{\"model\": \"fast\", \"input\": \"\xff\xfe\"}".to_vec(),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "invalid_encoding");

    // Unknown deployment: 404 in the Azure shape.
    let err = error_of(
        post(&gw, &json!({"model": "gpt-9", "input": "x"})).await,
        404,
    )
    .await;
    assert_eq!(err["code"], "DeploymentNotFound");

    // Unknown route and wrong method.
    let resp = client()
        .get(format!("{}/nope", gw.endpoint()))
        .send()
        .await
        .unwrap();
    error_of(resp, 404).await;
    let resp = client()
        .get(format!("{}/responses", gw.base_url()))
        .send()
        .await
        .unwrap();
    error_of(resp, 405).await;

    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_50_mb_body_gets_413_and_the_server_survives() {
    let gw = start(&config()).await;
    let mut body = br#"{"model": "fast", "input": ""#.to_vec();
    body.resize(50 * 1024 * 1024, b'a');
    body.extend_from_slice(br#""}"#);
    let err = error_of(raw_post(&gw, body).await, 413).await;
    assert_eq!(err["code"], "request_too_large");
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_response_id_that_is_not_utf8_gets_a_shaped_400() {
    let gw = start(&config()).await;
    for (method, suffix) in [
        (reqwest::Method::GET, ""),
        (reqwest::Method::DELETE, ""),
        (reqwest::Method::GET, "/input_items"),
        (reqwest::Method::POST, "/cancel"),
    ] {
        let url = format!("{}/responses/%ff%fe{suffix}", gw.base_url());
        let resp = client().request(method, url).send().await.unwrap();
        let err = error_of(resp, 400).await;
        assert_eq!(err["code"], "invalid_value", "{err}");
        assert_eq!(err["param"], "response_id", "{err}");
    }
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_gets_413() {
    let gw = start(&format!("[server]\nmax_body_bytes = 4096\n{FAST_EMULATOR}\n[[deployments]]\nname = \"fast\"\nupstream = \"emu\"\n")).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..16).map(|_| Ok(vec![b' '; 1024])).collect();
    let resp = client()
        .post(format!("{}/responses", gw.base_url()))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    error_of(resp, 413).await;
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_body_that_is_not_json_or_is_encoded_gets_415() {
    let gw = start(&config()).await;
    let body = json!({"model": "fast", "input": "hi"}).to_string();
    let send = |headers: Vec<(&'static str, &'static str)>| {
        let mut req = client()
            .post(format!("{}/responses", gw.base_url()))
            .body(body.clone());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    for headers in [
        vec![("content-type", "text/plain")],
        vec![("content-type", "application/x-www-form-urlencoded")],
        vec![("content-type", "multipart/form-data; boundary=x")],
        vec![
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        vec![
            ("content-type", "application/json"),
            ("content-encoding", "identity, br"),
        ],
    ] {
        let err = error_of(send(headers.clone()).await.unwrap(), 415).await;
        assert_eq!(err["code"], "unsupported_content_type", "{headers:?}");
        assert_eq!(err["type"], "invalid_request_error", "{headers:?}");
    }
    // JSON in any spelling, and no Content-Type at all, are read.
    for headers in [
        vec![],
        vec![("content-type", "application/json; charset=utf-8")],
        vec![("content-type", "Application/JSON")],
        vec![("content-type", "application/merge-patch+json")],
        vec![
            ("content-type", "application/json"),
            ("content-encoding", "identity"),
        ],
    ] {
        assert_eq!(
            send(headers.clone()).await.unwrap().status(),
            200,
            "{headers:?}"
        );
    }
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_huge_name_is_not_echoed_whole() {
    let gw = start(&config()).await;
    let name = "m".repeat(100_000);
    let err = error_of(post(&gw, &json!({"model": name, "input": "hi"})).await, 404).await;
    let message = err["message"].as_str().unwrap();
    assert!(message.len() < 1_000, "{} bytes", message.len());
    assert!(message.contains(&"m".repeat(256)), "{message}");
    let id = "resp_".to_owned() + &"x".repeat(7_000);
    let resp = client()
        .get(format!("{}/responses/{id}", gw.base_url()))
        .send()
        .await
        .unwrap();
    let err = error_of(resp, 404).await;
    assert!(err["message"].as_str().unwrap().len() < 1_000, "{err}");
    gw.shutdown().await;
}

#[tokio::test]
async fn huge_routing_config_values_are_not_echoed_whole() {
    // Each used to come back whole: a 1 MB unknown key twice over (message and param).
    let gw = start(&format!(
        "{FAST_EMULATOR}[[deployments]]\nname = \"fast\"\nupstream = \"emu\"\n\
         [[routers]]\nname = \"model-router\"\nmodels = [\"fast\"]\n"
    ))
    .await;
    let big = "K".repeat(1_000_000);
    let controls = [("Foundry-Features", "ModelRouterControls=V1Preview")];
    for (config, param) in [
        (json!({ big.clone(): 1 }), None),
        (json!({"mode": big}), Some("routing_config.mode")),
        (json!({"models": [big]}), Some("routing_config.models[0]")),
        (
            json!({"session_affinity": {"strategy": big}}),
            Some("routing_config.session_affinity.strategy"),
        ),
        (json!({"session_affinity": { big.clone(): 1 }}), None),
    ] {
        let body = json!({"model": "model-router", "input": "hi", "routing_config": config});
        let resp = post_with(&gw, &body, &controls).await;
        assert_eq!(resp.status(), 400);
        let text = resp.text().await.unwrap();
        assert!(text.len() < 1_000, "{} bytes for {param:?}", text.len());
        if let Some(param) = param {
            assert!(text.contains(param), "{text}");
        }
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn large_bodies_share_a_budget_and_the_one_over_it_gets_503() {
    // Budget: four max_body_bytes (4 x 300 KiB); each body is 290 KiB and held for 3 s.
    let gw = start(
        "[server]\nmax_body_bytes = 307200\nbody_read_timeout_ms = 300\n\
         [upstreams.slow]\nkind = \"emulator\"\nttft_ms = 3000\n\
         [[deployments]]\nname = \"slow\"\nupstream = \"slow\"\n",
    )
    .await;
    let body = json!({"model": "slow", "input": "x".repeat(290 * 1024)}).to_string();
    let send = || {
        client()
            .post(format!("{}/responses", gw.base_url()))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let first: Vec<_> = (0..4).map(|_| tokio::spawn(send())).collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let over = send().await.unwrap();
    assert_eq!(over.headers()["retry-after"], "1");
    let err = error_of(over, 503).await;
    assert_eq!(err["code"], "server_busy", "{err}");
    // An ordinary request, a few hundred values like an agent's history, does not wait on it.
    let history: Vec<Value> = (0..150)
        .map(|i| json!({"role": "user", "content": format!("turn {i}")}))
        .collect();
    let ordinary = post(&gw, &json!({"model": "slow", "input": history})).await;
    assert_eq!(ordinary.status(), 200);
    for r in first {
        assert_eq!(r.await.unwrap().unwrap().status(), 200);
    }
    // Once they are answered, the budget is free again.
    assert_eq!(send().await.unwrap().status(), 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_body_of_many_tiny_values_is_weighed_by_what_parsing_it_takes() {
    // Budget: four max_body_bytes (4 x 300 KiB), so about 1,170 values at 1 KiB each.
    // 10,000 `{}` items are 30 KB of JSON but megabytes once parsed: 413, where before they
    // were parsed inline, uncounted, at about 175 times their size. 300 messages (about 900
    // values) are ordinary traffic and are served.
    let gw = start(&format!(
        "[server]\nmax_body_bytes = 307200\n{FAST_EMULATOR}\
         [[deployments]]\nname = \"fast\"\nupstream = \"emu\"\n"
    ))
    .await;
    let flood = format!(
        r#"{{"model":"fast","input":[{}]}}"#,
        vec!["{}"; 10_000].join(",")
    );
    assert!(flood.len() < 32 * 1024);
    let err = error_of(raw_post(&gw, flood.into_bytes()).await, 413).await;
    assert_eq!(err["code"], "request_too_large", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("more than 8192 JSON values"), "{message}");
    let messages: Vec<Value> = (0..300)
        .map(|i| json!({"role": "user", "content": format!("message {i}")}))
        .collect();
    let resp = post(&gw, &json!({"model": "fast", "input": messages})).await;
    assert_eq!(resp.status(), 200);
    still_serves(&gw).await;
    gw.shutdown().await;

    // At the defaults a body may hold 65,536 values (twice max_body_bytes by weight), so one
    // request cannot take the whole large-body budget while it runs: 70,000 numbers in a tool
    // schema (140 KB) are refused, where before they were admitted at most of the budget.
    let gw = start(&config()).await;
    let schema = json!({"type": "object", "enum": vec![0; 70_000]});
    let body = json!({
        "model": "fast", "input": "hi",
        "tools": [{"type": "function", "name": "f", "parameters": schema}],
    });
    let err = error_of(post(&gw, &body).await, 413).await;
    assert!(
        err["message"].as_str().unwrap().contains("at most 65536"),
        "{err}"
    );
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn streamed_and_background_large_requests_keep_their_share_until_they_end() {
    // Budget: four max_body_bytes (4 x 300 KiB). Two streams and two background runs of
    // 290 KiB each keep their parsed requests while they run (about 3 s at 10 tokens/s), so a
    // fifth large body finds no room. Before, their shares were given back when the handler
    // returned (the stream's headers, the `queued` answer), and the fifth was served.
    let redis = routewise_testkit::RedisServer::start();
    let gw = start(&format!(
        "[server]\nmax_body_bytes = 307200\nbody_read_timeout_ms = 300\n\
         [store]\nredis_url = \"{}\"\n\
         [upstreams.slow]\nkind = \"emulator\"\nttft_ms = 10\ntokens_per_second = 10\n\
         [[deployments]]\nname = \"slow\"\nupstream = \"slow\"\n",
        redis.url()
    ))
    .await;
    let big = "x".repeat(290 * 1024);
    let mut streams = Vec::new();
    for _ in 0..2 {
        let resp = post(&gw, &json!({"model": "slow", "input": big, "stream": true})).await;
        assert_eq!(resp.status(), 200);
        streams.push(resp);
    }
    let mut runs = Vec::new();
    for _ in 0..2 {
        let resp = post(
            &gw,
            &json!({"model": "slow", "input": big, "background": true}),
        )
        .await;
        assert_eq!(resp.status(), 200);
        let queued: Value = resp.json().await.unwrap();
        runs.push(queued["id"].as_str().unwrap().to_owned());
    }
    let over = post(&gw, &json!({"model": "slow", "input": big})).await;
    let err = error_of(over, 503).await;
    assert_eq!(err["code"], "server_busy", "{err}");
    // Once the streams are read to their end and the runs are done, there is room again.
    for resp in streams {
        resp.bytes().await.unwrap();
    }
    for id in runs {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let got = get_json(format!("{}/responses/{id}", gw.base_url())).await;
            if got["status"] == "completed" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{got}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The run gives its share back as it ends, a moment after its record says completed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp = post(
        &gw,
        &json!({"model": "slow", "input": big, "max_output_tokens": 16}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    gw.shutdown().await;
}

/// Sends `body` as a create request on a raw connection whose receive buffer is `rcvbuf`
/// bytes, and hands the connection back unread.
async fn post_on_small_buffer(
    gw: &RunningGateway,
    body: &str,
    rcvbuf: u32,
) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(rcvbuf).unwrap();
    let mut conn = socket.connect(gw.local_addr()).await.unwrap();
    let head = format!(
        "POST /openai/v1/responses HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body.as_bytes()).await.unwrap();
    conn
}

#[tokio::test]
async fn a_client_that_stops_reading_its_stream_is_cut_off_and_gives_its_share_back() {
    // Four streams whose clients read nothing hold the whole large-body budget (4 x 1 MiB):
    // each echoes its 1000 KiB instructions in three events, more than the sockets take, so
    // none can finish. After
    // write_timeout (5 s: setting up four 1 MB uploads can take seconds on a loaded machine)
    // without progress they are cut, and a large request is served again. Before, their
    // shares were held for as long as the clients kept their sockets open.
    let gw = start(
        "[server]\nmax_body_bytes = 1048576\nbody_read_timeout_ms = 300\nwrite_timeout_ms = 5000\n\
         [upstreams.slow]\nkind = \"emulator\"\nttft_ms = 10\ntokens_per_second = 1000\n\
         [[deployments]]\nname = \"slow\"\nupstream = \"slow\"\n",
    )
    .await;
    let body = json!({
        "model": "slow", "input": "hi", "stream": true,
        "instructions": "x".repeat(1000 * 1024),
    })
    .to_string();
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(post_on_small_buffer(&gw, &body, 4096).await);
    }
    let big = json!({"model": "slow", "input": "x".repeat(600 * 1024), "max_output_tokens": 16});
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = error_of(post(&gw, &big).await, 503).await;
    assert_eq!(err["code"], "server_busy", "{err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let resp = post(&gw, &big).await;
        if resp.status() == 200 {
            break;
        }
        assert_eq!(resp.status(), 503);
        assert!(
            std::time::Instant::now() < deadline,
            "the silent clients still hold the budget"
        );
    }
    drop(silent);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_client_that_reads_slowly_but_steadily_is_not_cut_off() {
    // About 160 KB/s through a 128 KiB receive buffer for three write timeouts, then the rest at
    // full speed: the whole stream (its 4 MB instructions echoed three times) must arrive.
    // Without TCP_NOTSENT_LOWAT the socket became writable again only after a third of a
    // multi-megabyte send buffer drained, so such a client looked stalled and was cut: the
    // stream then ended without its final event.
    let gw = start(
        "[server]\nwrite_timeout_ms = 2000\n\
         [upstreams.fast]\nkind = \"emulator\"\nttft_ms = 1\ntokens_per_second = 1000\n\
         [[deployments]]\nname = \"fast\"\nupstream = \"fast\"\n",
    )
    .await;
    let body = json!({
        "model": "fast", "input": "hi", "stream": true,
        "instructions": "x".repeat(4_000_000),
    })
    .to_string();
    let mut conn = post_on_small_buffer(&gw, &body, 128 * 1024).await;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 8 * 1024];
    let slow_until = tokio::time::Instant::now() + Duration::from_secs(6);
    loop {
        if tokio::time::Instant::now() < slow_until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("data keeps coming")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.ends_with(b"\r\n0\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains("event: response.completed"),
        "cut after {} bytes",
        got.len()
    );
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn stalled_uploads_cannot_hold_more_than_the_replica_s_body_cap() {
    // Cap: eight max_body_bytes (8 MiB) of large bodies being read. Eight uploads that stall
    // one byte short of 1 MiB fill it; a ninth large one gets 503 at once (after its rest is
    // drained), where before every stalled upload was buffered until it timed out (408 at
    // 5 s). Small requests are not counted, so the full cap does not shut them out.
    let gw = start(&format!(
        "[server]\nmax_body_bytes = 1048576\nbody_read_timeout_ms = 5000\n{FAST_EMULATOR}\
         [[deployments]]\nname = \"fast\"\nupstream = \"emu\"\n"
    ))
    .await;
    let head = "POST /openai/v1/responses HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n";
    let addr = gw.local_addr();
    let stall = |sent: usize| async move {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(&vec![b' '; sent]).await.unwrap();
        conn
    };
    let mut stalled = Vec::new();
    for _ in 0..8 {
        stalled.push(stall(1_048_575).await);
    }
    // Give the server time to read what was sent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    still_serves(&gw).await;
    let mut over = stall(600 * 1024).await;
    let answer = read_response(&mut over).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("server_busy"), "{answer}");
    for mut conn in stalled {
        let answer = read_response(&mut conn).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    // Their bytes are given back: a body as large as the ninth is served now.
    let body = json!({"model": "fast", "input": "x".repeat(600 * 1024)}).to_string();
    assert_eq!(raw_post(&gw, body.into_bytes()).await.status(), 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_body_compressed_in_transfer_is_a_415_not_a_parse_error() {
    // hyper undoes `chunked` only, so a `gzip, chunked` body used to reach the parser still
    // compressed, and the client got a 400 about invalid JSON.
    let gw = start(&config()).await;
    let body = r#"{"model":"fast","input":"hi"}"#;
    for (coding, status) in [("gzip, chunked", "415"), ("chunked", "200")] {
        let mut conn = tokio::net::TcpStream::connect(gw.local_addr())
            .await
            .unwrap();
        let request = format!(
            "POST /openai/v1/responses HTTP/1.1\r\nHost: localhost\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: {coding}\r\n\r\n\
             {:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        );
        conn.write_all(request.as_bytes()).await.unwrap();
        let answer = read_response(&mut conn).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{coding}: {answer}"
        );
        if status == "415" {
            assert!(answer.contains("transfer coding"), "{answer}");
        }
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn a_body_past_the_value_limit_is_refused_before_the_rest_arrives() {
    // The values are counted as the body arrives: 10,000 `{}` then a stall gets its 413 at
    // once, where before the gateway waited for the whole body (a 408 after the 5 s read
    // timeout) and only then counted.
    let gw = start(&format!(
        "[server]\nmax_body_bytes = 1048576\nbody_read_timeout_ms = 5000\n{FAST_EMULATOR}\
         [[deployments]]\nname = \"fast\"\nupstream = \"emu\"\n"
    ))
    .await;
    let mut conn = tokio::net::TcpStream::connect(gw.local_addr())
        .await
        .unwrap();
    let start_of_body = format!(r#"{{"model":"fast","input":[{}"#, "{},".repeat(10_000));
    let head = "POST /openai/v1/responses HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(start_of_body.as_bytes()).await.unwrap();
    let sent = std::time::Instant::now();
    let answer = read_response(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // 2 × 1 MiB / 1 KiB is 2,048, raised to the floor of 8,192.
    assert!(answer.contains("more than 8192 JSON values"), "{answer}");
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "answered while the upload stalled, not at the read timeout: {:?}",
        sent.elapsed()
    );
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_request_with_many_items_is_answered_like_a_small_one() {
    // Over the sizes where parsing, and the emulator's reading, move to the blocking pool.
    let gw = start(&config()).await;
    let items: Vec<Value> = (0..20_000)
        .map(|i| json!({"role": "user", "content": format!("item {i}")}))
        .collect();
    let resp = post(&gw, &json!({"model": "fast", "input": items})).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(output_text(&body).starts_with("[emulated fast] "), "{body}");
    assert!(
        body["usage"]["input_tokens"].as_u64().unwrap() > 20_000,
        "{}",
        body["usage"]
    );
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn an_emulated_deployment_refuses_what_foundry_refuses() {
    let gw = start(&config()).await;
    for (extra, param, code) in [
        (
            json!({"temperature": 99}),
            "temperature",
            "decimal_above_max_value",
        ),
        (json!({"metadata": {"a": 1}}), "metadata.a", "invalid_type"),
        (
            json!({"tools": [{"type": "function"}]}),
            "tools[0].name",
            "missing_required_parameter",
        ),
        (
            json!({"tool_choice": "bogus"}),
            "tool_choice",
            "invalid_value",
        ),
        (
            json!({"max_output_tokens": 8}),
            "max_output_tokens",
            "integer_below_min_value",
        ),
    ] {
        let mut req = json!({"model": "fast", "input": "hi"});
        req.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let err = error_of(post(&gw, &req).await, 400).await;
        assert_eq!(err["param"], param, "{err}");
        assert_eq!(err["code"], code, "{err}");
        assert_eq!(err["type"], "invalid_request_error", "{err}");
    }
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_stream_flag_that_is_not_a_boolean_gets_400() {
    let gw = start(&config()).await;
    let resp = client()
        .get(format!("{}/responses/resp_1?stream=maybe", gw.base_url()))
        .send()
        .await
        .unwrap();
    let err = error_of(resp, 400).await;
    assert_eq!(err["param"], "stream", "{err}");
    // `false` is a boolean, in any case: the plain retrieval runs (a 404 here, with no
    // store). `TRUE` asks for the replay, which needs a store too (also a 404 here).
    for flag in ["false", "FALSE", "0", "TRUE", "True", "1"] {
        let resp = client()
            .get(format!("{}/responses/resp_1?stream={flag}", gw.base_url()))
            .send()
            .await
            .unwrap();
        error_of(resp, 404).await;
    }
    gw.shutdown().await;
}

/// Sends `head` on a fresh connection and reads the answer until the server closes it.
async fn raw_exchange(gw: &RunningGateway, head: &str) -> (String, Duration) {
    let mut sock = tokio::net::TcpStream::connect(gw.local_addr())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), sock.read_to_end(&mut out))
        .await
        .expect("the server answers and closes")
        .unwrap();
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn an_oversized_declared_body_is_refused_without_waiting_for_it() {
    let gw = start(&config()).await;
    // Expect: 100-continue: refused at once, and the upload is never invited.
    let (answer, took) = raw_exchange(
        &gw,
        "POST /openai/v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 104857600\r\nExpect: 100-continue\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert!(answer.contains("request_too_large"), "{answer}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // A declared length that never arrives: the drain gives up once the client goes quiet,
    // long before the 60 s body timeout.
    let (answer, took) = raw_exchange(
        &gw,
        "POST /openai/v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 104857600\r\n\r\n{\"model\"",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_slow_loris_connection_is_cut_and_the_server_survives() {
    let gw = start(&config()).await;
    let mut slow = tokio::net::TcpStream::connect(gw.local_addr())
        .await
        .unwrap();
    slow.write_all(b"POST /openai/v1/responses HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    // Never finish the head: the server must give up after header_read_timeout (300 ms).
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf)).await;
    match read {
        Ok(Ok(n)) => assert!(
            n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            "{n}"
        ),
        Ok(Err(_)) => {}
        Err(_) => panic!("the slow connection was still open after 5 s"),
    }
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn oversized_headers_are_refused_and_the_server_survives() {
    let gw = start(&config()).await;
    let huge = "a".repeat(200 * 1024);
    let result = client()
        .post(format!("{}/responses", gw.base_url()))
        .header("x-huge", huge)
        .json(&json!({"model": "fast", "input": "x"}))
        .send()
        .await;
    if let Ok(resp) = result {
        assert_eq!(resp.status().as_u16(), 431);
    }
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn heads_over_our_limits_get_a_json_431() {
    let gw = start(&config()).await;
    // 80 KiB: over the 64 KiB default, under hyper's hard cut at twice that.
    let big = "a".repeat(80 * 1024);
    let resp = client()
        .post(format!("{}/responses", gw.base_url()))
        .header("x-big", big)
        .json(&json!({"model": "fast", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().contains_key("x-request-id"));
    let err = error_of(resp, 431).await;
    assert_eq!(err["code"], "request_header_fields_too_large");
    assert!(
        err["message"].as_str().unwrap().contains("65536 bytes"),
        "{err}"
    );
    // Too many headers (the default allows 100).
    let mut req = client().post(format!("{}/responses", gw.base_url()));
    for i in 0..150 {
        req = req.header(format!("x-h{i}"), "v");
    }
    let resp = req
        .json(&json!({"model": "fast", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(resp, 431).await["code"],
        "request_header_fields_too_large"
    );
    still_serves(&gw).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn invalid_routing_config_is_400_before_any_upstream_call() {
    let gw = start(&format!(
        "{FAST_EMULATOR}\n[[deployments]]\nname = \"a\"\nupstream = \"emu\"\nemulator = {{ error_rate = 1.0 }}\n[[deployments]]\nname = \"b\"\nupstream = \"emu\"\n"
    ))
    .await;
    let controls = [("Foundry-Features", "ModelRouterControls=V1Preview")];
    for bad in [
        json!({"mode": "fastest"}),
        json!({"models": ["not-in-subset"]}),
        json!({"models": []}),
        json!({"colour": "red"}),
        json!({"session_affinity": {"strategy": "glue"}}),
    ] {
        let body = json!({"model": "model-router", "input": "x", "routing_config": bad});
        let err = error_of(post_with(&gw, &body, &controls).await, 400).await;
        assert!(
            err["param"].as_str().unwrap().starts_with("routing_config"),
            "{err}"
        );
    }
    // Without the header the controls are ignored, as on Foundry (here: routed to "b" after "a"
    // fails, since the subset is the failover set).
    let body =
        json!({"model": "model-router", "input": "x", "routing_config": {"mode": "fastest"}});
    assert_eq!(post(&gw, &body).await.status(), 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn access_control_requires_a_configured_key() {
    let toml = format!(
        "[access]\napi_keys_env = [\"GW_TEST_KEYS\"]\n{FAST_EMULATOR}\n[[deployments]]\nname = \"fast\"\nupstream = \"emu\"\n"
    );
    let gw = start_with_env(&toml, &|v| {
        (v == "GW_TEST_KEYS").then(|| "k1, k2".to_owned())
    })
    .await;
    let body = json!({"model": "fast", "input": "x"});
    let err = error_of(post(&gw, &body).await, 401).await;
    assert_eq!(err["code"], "401");
    error_of(post_with(&gw, &body, &[("api-key", "wrong")]).await, 401).await;
    assert_eq!(
        post_with(&gw, &body, &[("api-key", "k2")]).await.status(),
        200
    );
    assert_eq!(
        post_with(&gw, &body, &[("authorization", "Bearer k1")])
            .await
            .status(),
        200
    );
    // Probes stay open.
    let health = client()
        .get(format!("{}/healthz", gw.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    gw.shutdown().await;
}

/// Reads one response head and its `content-length` body from a raw connection.
async fn read_response(conn: &mut tokio::net::TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(n > 0, "closed before a whole answer: {got:?}");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                return text;
            }
        }
    }
}

#[tokio::test]
async fn an_answer_that_leaves_the_body_unread_says_connection_close() {
    let toml = format!(
        "[access]\napi_keys_env = [\"GW_TEST_KEYS\"]\n{FAST_EMULATOR}\n[[deployments]]\nname = \"fast\"\nupstream = \"emu\"\n"
    );
    let gw = start_with_env(&toml, &|v| (v == "GW_TEST_KEYS").then(|| "k1".to_owned())).await;
    let body = r#"{"model": "fast", "input": "x"}"#;
    let request = |key: &str| {
        format!(
            "POST /openai/v1/responses HTTP/1.1\r\nHost: localhost\r\napi-key: {key}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
    };

    // A wrong key is answered before the body is sent (as clients that write the head first
    // see it): 401, and the connection is announced closed rather than silently dropped.
    let mut conn = tokio::net::TcpStream::connect(gw.local_addr())
        .await
        .unwrap();
    conn.write_all(request("wrong").as_bytes()).await.unwrap();
    let answer = read_response(&mut conn).await.to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");

    // A served request reads its body and keeps the connection for the next one.
    let mut conn = tokio::net::TcpStream::connect(gw.local_addr())
        .await
        .unwrap();
    for _ in 0..2 {
        conn.write_all(format!("{}{body}", request("k1")).as_bytes())
            .await
            .unwrap();
        let answer = read_response(&mut conn).await.to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 200"), "{answer}");
        assert!(!answer.contains("connection: close"), "{answer}");
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn request_ids_are_set_and_the_client_id_is_echoed() {
    let gw = start(&config()).await;
    let resp = post_with(
        &gw,
        &json!({"model": "fast", "input": "x"}),
        &[("x-ms-client-request-id", "my-id-1")],
    )
    .await;
    let h = resp.headers();
    assert_eq!(h["x-ms-client-request-id"], "my-id-1");
    assert_eq!(h["x-request-id"], h["apim-request-id"]);
    assert_eq!(h["x-request-id"].len(), 36);
    let err = post(&gw, &json!({"model": "nope", "input": "x"})).await;
    assert!(err.headers().contains_key("apim-request-id"));
    gw.shutdown().await;
}
