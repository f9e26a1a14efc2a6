//! An upstream that breaks the protocol (a 200 that is not JSON, an error without a message, a
//! redirect, an event whose data is not JSON) must not reach the client as such: official
//! clients would fail to parse it, or lose the reason. Found by a fuzz of `routewise serve` in
//! front of a hostile OpenAI-compatible server.

use routewise_testkit::fixtures::{HELLO_STREAM, split_frames};
use routewise_testkit::{Script, SseFaultServer};
use serde_json::{Value, json};

use crate::common::{error_of, post, sse, start, two_deployments};

/// A deployment `primary` on `upstream` (pinned by name), and a router that tries it before an
/// emulated `backup`.
fn config(upstream: &SseFaultServer) -> String {
    let upstream = format!(
        "{{ kind = \"openai_compatible\", base_url = \"{}\" }}",
        upstream.openai_base_url()
    );
    two_deployments(&upstream, "")
}

async fn answered_by(script: Script, model: &str) -> reqwest::Response {
    let upstream = SseFaultServer::start(script).await.unwrap();
    let gw = start(&config(&upstream)).await;
    let resp = post(&gw, &json!({"model": model, "input": "hi"})).await;
    // The body is read before the gateway goes away.
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap();
    gw.shutdown().await;
    let mut builder = http::Response::builder().status(status);
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    reqwest::Response::from(builder.body(body).unwrap())
}

#[tokio::test]
async fn a_200_that_is_not_json_is_a_502_and_fails_over() {
    // Invalid UTF-8 inside a string: serde would skip it unchecked in an ignored field.
    let garbage = || {
        Script::status(200)
            .header("content-type", "application/json")
            .frame(&b"{\"id\": \"resp_1\", \"o\xffutput\": []}"[..])
    };
    let err = error_of(answered_by(garbage(), "primary").await, 502).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("not a JSON object"),
        "{err}"
    );
    let ok = answered_by(garbage(), "model-router").await;
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["model"], "backup-model");

    let empty = Script::status(200).header("content-type", "application/json");
    error_of(answered_by(empty, "primary").await, 502).await;
    // Valid JSON that is not an object, and an object cut short or followed by more. `[]` and
    // `["x"]` once passed: a derived serde struct also reads an array.
    for body in [
        "[]",
        "[\"x\"]",
        "[1, 2]",
        "  \"text\"",
        "null",
        "{\"id\": \"resp_1\"",
        "{} {}",
    ] {
        let odd = Script::status(200)
            .header("content-type", "application/json")
            .frame(body);
        error_of(answered_by(odd, "primary").await, 502).await;
    }
}

#[tokio::test]
async fn an_upstream_error_without_a_message_says_its_status_and_body() {
    let html = Script::status(503)
        .header("content-type", "text/html")
        .frame("<html><body>Service Unavailable</body></html>");
    let err = error_of(answered_by(html, "primary").await, 503).await;
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("HTTP 503"), "{message}");
    assert!(message.contains("Service Unavailable"), "{message}");

    let no_message = Script::status(400)
        .header("content-type", "application/json")
        .frame(r#"{"error": {"code": "odd"}}"#);
    let err = error_of(answered_by(no_message, "primary").await, 400).await;
    assert!(
        err["message"].as_str().unwrap().contains("HTTP 400"),
        "{err}"
    );

    let empty = Script::status(401);
    let err = error_of(answered_by(empty, "primary").await, 401).await;
    assert_eq!(
        err["message"],
        "The upstream deployment answered HTTP 401 with no error message."
    );

    // A well-formed upstream error still passes through as it came.
    let proper = Script::status(400)
        .header("content-type", "application/json")
        .frame(r#"{"error": {"message": "Bad thing.", "type": "invalid_request_error", "param": null, "code": "bad_thing"}}"#);
    let err = error_of(answered_by(proper, "primary").await, 400).await;
    assert_eq!(err["message"], "Bad thing.");
    assert_eq!(err["code"], "bad_thing");
}

#[tokio::test]
async fn an_upstream_redirect_is_a_502() {
    let redirect = Script::status(301).header("location", "http://127.0.0.1:9/elsewhere");
    let err = error_of(answered_by(redirect, "primary").await, 502).await;
    assert!(
        err["message"].as_str().unwrap().contains("HTTP 301"),
        "{err}"
    );
}

#[tokio::test]
async fn an_event_that_is_not_json_ends_the_stream_with_error_and_response_failed() {
    // The digest's stream up to its first delta, then an event whose data is cut short, or is
    // JSON but not an object, with and without an `event:` line.
    let bad_frames = [
        "event: response.output_text.delta\ndata: {\"type\": \"response.output\n\n",
        "event: response.output_text.delta\ndata: [1]\n\n",
        "data: [\"response.output_text.delta\"]\n\n",
    ];
    for bad in bad_frames {
        let script = split_frames(HELLO_STREAM)[..5]
            .iter()
            .fold(Script::sse(), |s, f| s.frame((*f).to_owned()))
            .frame(bad);
        let upstream = SseFaultServer::start(script).await.unwrap();
        let gw = start(&config(&upstream)).await;
        let resp = post(
            &gw,
            &json!({"model": "primary", "input": "hi", "stream": true}),
        )
        .await;
        assert_eq!(resp.status(), 200);
        let events = sse(resp).await;
        let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            &kinds[kinds.len() - 3..],
            ["response.output_text.delta", "error", "response.failed"],
            "{bad}: {events:?}"
        );
        let error = &events[events.len() - 2].1;
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("not a JSON object"),
            "{bad}: {error}"
        );
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn an_upstream_that_echoes_our_key_does_not_show_it_to_the_client() {
    // A proxy that echoes the request headers in its error body used to show the client the
    // gateway's own upstream key, quoted (text) or passed through (JSON).
    const KEY: &str = "sk-UPSTREAM-secret-4242";
    let scripts = [
        Script::status(500)
            .header("content-type", "text/plain")
            .frame(format!(
                "failure; headers were: authorization: Bearer {KEY}"
            )),
        Script::status(400)
            .header("content-type", "application/json")
            .frame(format!(
                r#"{{"error": {{"message": "bad key {KEY}", "code": "bad_key"}}}}"#
            )),
    ];
    for (script, status) in scripts.into_iter().zip([500, 400]) {
        let upstream = SseFaultServer::start(script).await.unwrap();
        let toml = format!(
            "[[deployments]]\nname = \"primary\"\nupstream = {{ kind = \"openai_compatible\", \
             base_url = \"{}\", api_key_env = \"ECHO_KEY\" }}\n",
            upstream.openai_base_url()
        );
        let gw = crate::common::start_with_env(&toml, &|var| {
            (var == "ECHO_KEY").then(|| KEY.to_owned())
        })
        .await;
        let err = error_of(
            post(&gw, &json!({"model": "primary", "input": "hi"})).await,
            status,
        )
        .await;
        let message = err["message"].as_str().unwrap();
        assert!(!message.contains("UPSTREAM-secret"), "{err}");
        assert!(message.contains("***"), "{err}");
        gw.shutdown().await;
    }
}
