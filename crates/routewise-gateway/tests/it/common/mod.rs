//! Helpers shared by the gateway's integration tests: start a gateway on a free loopback port
//! from TOML, call it over real HTTP, and read SSE streams.

#![allow(dead_code)]

pub mod logs;

use routewise_gateway::{Config, Gateway, RunningGateway};
use serde_json::Value;

/// Fast emulators: answers in about a millisecond.
pub const FAST_EMULATOR: &str = r#"
[upstreams.emu]
kind = "emulator"
ttft_ms = 1
tokens_per_second = 1000000
"#;

/// A gateway for `toml` on a free loopback port.
pub async fn start(toml: &str) -> RunningGateway {
    bind(Config::from_toml_str(toml, "test.toml").expect("valid test config")).await
}

/// A gateway for `toml` on a free loopback port, reading variables from `env`.
pub async fn start_with_env(toml: &str, env: &dyn Fn(&str) -> Option<String>) -> RunningGateway {
    bind(Config::from_toml_str_with_env(toml, "test.toml", env).expect("valid test config")).await
}

/// Builds a gateway from `cfg` and binds it to a free loopback port.
pub async fn bind(cfg: Config) -> RunningGateway {
    Gateway::from_config(cfg)
        .expect("gateway builds")
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("binds")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// GETs `url` and reads the body as JSON, whatever the status.
pub async fn get_json(url: impl reqwest::IntoUrl) -> Value {
    client()
        .get(url)
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("a JSON body")
}

pub async fn post(gw: &RunningGateway, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/responses", gw.base_url()))
        .json(body)
        .send()
        .await
        .expect("request sent")
}

pub async fn post_with(
    gw: &RunningGateway,
    body: &Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client()
        .post(format!("{}/responses", gw.base_url()))
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request sent")
}

/// Parses a whole SSE body into `(event, data)` pairs.
pub fn parse_sse(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = e.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            (event, serde_json::from_str(&data).unwrap_or(Value::Null))
        })
        .collect()
}

pub async fn sse(resp: reqwest::Response) -> Vec<(String, Value)> {
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    parse_sse(&resp.text().await.unwrap())
}

/// The concatenated `output_text` of a Response object.
pub fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
        .filter(|part| part["type"] == "output_text")
        .map(|part| part["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The concatenated deltas of a stream.
pub fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(e, _)| e == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Asserts the OpenAI/Azure error shape and returns the `error` object.
pub async fn error_of(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    assert!(resp.headers().contains_key("x-request-id"));
    assert!(resp.headers().contains_key("apim-request-id"));
    let body: Value = resp.json().await.expect("JSON error body");
    let err = body["error"].clone();
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(err.get("code").is_some(), "{body}");
    err
}

/// A quality-mode router over `primary` (better, so tried first) and `backup`.
pub fn two_deployments(primary_upstream: &str, primary_extra: &str) -> String {
    format!(
        r#"
{FAST_EMULATOR}
[[deployments]]
name = "primary"
model = "primary-model"
upstream = {primary_upstream}
profile = {{ general = 0.9, reasoning = 0.9, math = 0.9, coding = 0.9 }}
{primary_extra}

[[deployments]]
name = "backup"
model = "backup-model"
upstream = "emu"
profile = {{ general = 0.5, reasoning = 0.5, math = 0.5, coding = 0.5 }}

[[routers]]
name = "model-router"
mode = "quality"
models = ["primary", "backup"]
"#
    )
}

/// The sum of the samples of `metric` in the gateway's `/metrics` whose line contains every
/// `labels` pair.
pub async fn metric(gw: &RunningGateway, metric: &str, labels: &[&str]) -> f64 {
    let text = client()
        .get(format!("{}/metrics", gw.endpoint()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(metric) && labels.iter().all(|p| l.contains(p)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
