//! What the client gets when every attempt failed: the last upstream's retry delay and
//! rate-limit headers with a passed-through 429 or 503, and a replayed in-band failure stamped
//! like any answer (`model_selection_details`, `previous_response_id`, stored).

use std::time::Duration;

use routewise_testkit::{ErrorReply, Script, SseFaultServer};
use serde_json::{Value, json};

use crate::common::{FAST_EMULATOR, error_of, get_json, post, post_with, sse, start};
use routewise_testkit::RedisServer;

const CONTROLS: [(&str, &str); 1] = [("Foundry-Features", "ModelRouterControls=V1Preview")];

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_passed_through_429_keeps_the_last_upstream_s_retry_delay() {
    let gw = start(&format!(
        r#"
{FAST_EMULATOR}
[[deployments]]
name = "limited"
upstream = "emu"
emulator = {{ rate_limit_rate = 1.0, retry_after_ms = 1500 }}
profile = {{ general = 0.9, reasoning = 0.9, math = 0.9, coding = 0.9 }}

[[deployments]]
name = "slower"
upstream = "emu"
emulator = {{ rate_limit_rate = 1.0, retry_after_ms = 4200 }}
profile = {{ general = 0.5, reasoning = 0.5, math = 0.5, coding = 0.5 }}

[[routers]]
name = "model-router"
mode = "quality"
models = ["limited", "slower"]
"#
    ))
    .await;
    for stream in [false, true] {
        let resp = post(
            &gw,
            &json!({"model": "limited", "input": "x", "stream": stream}),
        )
        .await;
        assert_eq!(header(&resp, "retry-after"), Some("2"), "stream: {stream}");
        assert_eq!(
            header(&resp, "retry-after-ms"),
            Some("1500"),
            "stream: {stream}"
        );
        let err = error_of(resp, 429).await;
        assert_eq!(err["code"], "429");
        // Routed: both refused; the answer is the last attempt's.
        let resp = post(
            &gw,
            &json!({"model": "model-router", "input": "x", "stream": stream}),
        )
        .await;
        assert_eq!(header(&resp, "retry-after"), Some("5"), "stream: {stream}");
        assert_eq!(
            header(&resp, "retry-after-ms"),
            Some("4200"),
            "stream: {stream}"
        );
        error_of(resp, 429).await;
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn a_remote_429_or_503_passes_its_retry_delay_and_rate_limit_headers_through() {
    let replies = [
        ErrorReply::rate_limited(Duration::from_millis(2500)),
        ErrorReply::service_unavailable().retry_after_secs(7.0),
    ];
    for reply in replies {
        let upstream = SseFaultServer::start(Script::error(&reply)).await.unwrap();
        let gw = start(&format!(
            "[[deployments]]\nname = \"nano\"\n\
             upstream = {{ kind = \"openai_compatible\", base_url = \"{}\" }}\n",
            upstream.openai_base_url()
        ))
        .await;
        for stream in [false, true] {
            let resp = post(
                &gw,
                &json!({"model": "nano", "input": "x", "stream": stream}),
            )
            .await;
            assert_eq!(resp.status().as_u16(), reply.status());
            if reply.status() == 429 {
                assert_eq!(header(&resp, "retry-after"), Some("3"));
                assert_eq!(header(&resp, "retry-after-ms"), Some("2500"));
                assert_eq!(header(&resp, "x-ratelimit-remaining-requests"), Some("0"));
                assert_eq!(header(&resp, "x-ratelimit-limit-tokens"), Some("100000"));
                assert_eq!(header(&resp, "x-ratelimit-reset-tokens"), Some("6s"));
            } else {
                assert_eq!(header(&resp, "retry-after"), Some("7"));
                assert_eq!(header(&resp, "retry-after-ms"), Some("7000"));
            }
            error_of(resp, reply.status()).await;
        }
        gw.shutdown().await;
    }
}

/// A deployment with its own `rpm` whose upstream refuses: the answer keeps the upstream's
/// `x-ratelimit-*` figures (they explain the refusal); the gateway's own quota does not
/// overwrite them.
#[tokio::test]
async fn a_limited_deployment_passes_the_upstream_s_rate_limit_headers_through() {
    let redis = RedisServer::start();
    let reply = ErrorReply::rate_limited(Duration::from_millis(2500));
    let upstream = SseFaultServer::start(Script::error(&reply)).await.unwrap();
    let gw = start(&format!(
        "[limits]\nredis_url = \"{}\"\n\
         [[deployments]]\nname = \"nano\"\nrpm = 600\n\
         upstream = {{ kind = \"openai_compatible\", base_url = \"{}\" }}\n",
        redis.url(),
        upstream.openai_base_url()
    ))
    .await;
    let resp = post(&gw, &json!({"model": "nano", "input": "x"})).await;
    assert_eq!(header(&resp, "retry-after-ms"), Some("2500"));
    assert_eq!(header(&resp, "x-ratelimit-remaining-requests"), Some("0"));
    assert_ne!(header(&resp, "x-ratelimit-limit-requests"), Some("600"));
    error_of(resp, 429).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn a_replayed_in_band_failure_carries_the_details_and_the_usual_stamping() {
    let redis = RedisServer::start();
    let failing = "emulator = { stream_failure_rate = 1.0, fail_after_deltas = 0 }";
    let gw = start(&format!(
        r#"
{FAST_EMULATOR}
[store]
redis_url = "{}"

[[deployments]]
name = "healthy"
upstream = "emu"

[[deployments]]
name = "first"
upstream = "emu"
{failing}

[[deployments]]
name = "second"
upstream = "emu"
{failing}

[[routers]]
name = "model-router"
models = ["first", "second"]
"#,
        redis.url()
    ))
    .await;
    let earlier: Value = post(&gw, &json!({"model": "healthy", "input": "Name a prime."}))
        .await
        .json()
        .await
        .unwrap();
    let earlier_id = earlier["id"].as_str().unwrap();

    let body = json!({
        "model": "model-router", "input": "And another.", "stream": true,
        "previous_response_id": earlier_id,
    });
    let events = sse(post_with(&gw, &body, &CONTROLS).await).await;
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "response.failed", "{events:?}");
    let failed = &data["response"];
    let attempts =
        &failed["model_selection_details"]["model_router_details"]["routing_trace"][0]["attempts"];
    assert_eq!(attempts.as_array().map(Vec::len), Some(2), "{failed}");
    assert_eq!(failed["previous_response_id"], earlier_id);
    let created = &events[0].1["response"];
    assert!(created["model_selection_details"].is_object(), "{created}");
    assert_eq!(created["previous_response_id"], earlier_id);

    // Stored like any finished response.
    let id = failed["id"].as_str().unwrap();
    let got = get_json(format!("{}/responses/{id}", gw.base_url())).await;
    assert_eq!(got["status"], "failed", "{got}");
    assert_eq!(got["previous_response_id"], earlier_id);
    gw.shutdown().await;
}
