//! Observability over real HTTP: one `routewise::access` event per request with the right
//! field values (JSON answers, streams, disconnects, errors, 429s, routed requests), no
//! secret or prompt in any log line, and a `/metrics` exposition that parses, counts and
//! respects access control.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use routewise_gateway::RunningGateway;
use serde_json::{Value, json};

use crate::common::logs::{capture_json, capture_text};
use crate::common::{FAST_EMULATOR, client, parse_sse, post, post_with, start, start_with_env};
use routewise_testkit::RedisServer;

fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-request-id"].to_str().unwrap().to_owned()
}

const TWO_DEPLOYMENTS: &str = r#"
[[deployments]]
name = "nano"
model = "gpt-4.1-nano-2025-04-14"
upstream = "emu"
price = { input_per_1m = 0.10, output_per_1m = 0.40 }

[[deployments]]
name = "mini"
model = "gpt-5-mini"
upstream = "emu"
price = { input_per_1m = 0.25, output_per_1m = 2.00 }
profile = { general = 0.9, reasoning = 0.8, math = 0.9, coding = 0.85, reasoning_model = true }

[[routers]]
name = "model-router"
models = ["nano", "mini"]
estimator = "heuristic"
"#;

async fn gateway() -> RunningGateway {
    start(&format!("{FAST_EMULATOR}\n{TWO_DEPLOYMENTS}")).await
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn a_json_answer_logs_served_model_deployment_status_tokens_and_latency() {
    let (capture, _guard) = capture_json();
    let gw = gateway().await;
    let resp = post(
        &gw,
        &json!({"model": "nano", "input": "Name three rivers."}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let id = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    let ev = capture.event_for(&id).await;
    assert_eq!(ev["level"], "INFO");
    assert_eq!(ev["http.request.method"], "POST");
    assert_eq!(ev["routewise.route"], "responses.create");
    assert_eq!(ev["http.response.status_code"], 200);
    assert_eq!(ev["routewise.outcome"], "completed");
    assert_eq!(ev["gen_ai.operation.name"], "chat");
    assert_eq!(ev["gen_ai.request.model"], "nano");
    assert_eq!(ev["gen_ai.response.model"], body["model"]);
    assert_eq!(ev["gen_ai.response.model"], "gpt-4.1-nano-2025-04-14");
    assert_eq!(ev["gen_ai.response.id"], body["id"]);
    assert_eq!(ev["routewise.deployment"], "nano");
    assert_eq!(ev["routewise.stream"], false);
    assert_eq!(ev["routewise.attempts"], 1);
    assert_eq!(ev["routewise.rate_limit"], "none");
    let usage = &body["usage"];
    assert!(usage["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(ev["gen_ai.usage.input_tokens"], usage["input_tokens"]);
    assert_eq!(ev["gen_ai.usage.output_tokens"], usage["output_tokens"]);
    assert_eq!(
        ev["gen_ai.usage.cache_read.input_tokens"],
        usage["input_tokens_details"]["cached_tokens"]
    );
    let latency = f64_of(&ev["routewise.latency_ms"]);
    assert!(latency > 0.0 && latency < 5_000.0, "{latency}");
    assert!(ev.get("routewise.router").is_none(), "{ev}");
    assert!(ev.get("routewise.ttft_ms").is_none(), "{ev}");
    assert!(ev.get("error.type").is_none(), "{ev}");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_stream_logs_at_its_end_with_ttft_and_the_completed_usage() {
    let (capture, _guard) = capture_json();
    let gw = gateway().await;
    let resp = post(
        &gw,
        &json!({"model": "nano", "input": "Describe a lighthouse.", "stream": true}),
    )
    .await;
    let id = request_id(&resp);
    let events = parse_sse(&resp.text().await.unwrap());
    let completed = &events
        .iter()
        .find(|(e, _)| e == "response.completed")
        .expect("a completed event")
        .1["response"];
    let ev = capture.event_for(&id).await;
    assert_eq!(ev["routewise.stream"], true);
    assert_eq!(ev["http.response.status_code"], 200);
    assert_eq!(ev["routewise.outcome"], "completed");
    assert_eq!(ev["gen_ai.response.model"], completed["model"]);
    assert_eq!(ev["gen_ai.response.id"], completed["id"]);
    assert_eq!(
        ev["gen_ai.usage.input_tokens"],
        completed["usage"]["input_tokens"]
    );
    assert_eq!(
        ev["gen_ai.usage.output_tokens"],
        completed["usage"]["output_tokens"]
    );
    let ttft = f64_of(&ev["routewise.ttft_ms"]);
    let ttfb = f64_of(&ev["routewise.ttfb_ms"]);
    let latency = f64_of(&ev["routewise.latency_ms"]);
    assert!(0.0 < ttft && ttft <= latency, "{ttft} {latency}");
    assert!(0.0 < ttfb && ttfb <= latency, "{ttfb} {latency}");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_still_yields_one_event() {
    let (capture, _guard) = capture_json();
    let gw = start(
        "[[deployments]]\nname = \"slow\"\nupstream = { kind = \"emulator\", ttft_ms = 5, tokens_per_second = 20 }\n",
    )
    .await;
    let mut resp = post(
        &gw,
        &json!({"model": "slow", "input": "Explain how tides work in detail.", "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let id = request_id(&resp);
    let first = resp.chunk().await.unwrap().expect("a first chunk");
    assert!(!first.is_empty());
    drop(resp);
    let ev = capture.event_for(&id).await;
    assert_eq!(ev["routewise.outcome"], "client_disconnected");
    assert_eq!(ev["routewise.stream"], true);
    assert_eq!(ev["routewise.deployment"], "slow");
    assert!(ev.get("gen_ai.usage.output_tokens").is_none(), "{ev}");
    let same: Vec<Value> = capture
        .access()
        .into_iter()
        .filter(|v| v["routewise.request_id"] == id.as_str())
        .collect();
    assert_eq!(same.len(), 1, "{same:?}");
    gw.shutdown().await;
}

#[tokio::test]
async fn error_answers_log_their_status_and_code() {
    let (capture, _guard) = capture_json();
    let gw = gateway().await;
    let bad = client()
        .post(format!("{}/responses", gw.base_url()))
        .header("content-type", "application/json")
        .body("{\"model\": \"nano\", \"input\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let ev = capture.event_for(&request_id(&bad)).await;
    assert_eq!(ev["http.response.status_code"], 400);
    assert_eq!(ev["error.type"], "invalid_json");
    assert_eq!(ev["routewise.outcome"], "error");
    assert!(ev.get("gen_ai.request.model").is_none(), "{ev}");

    let unknown = post(&gw, &json!({"model": "gpt-9", "input": "x"})).await;
    assert_eq!(unknown.status(), 404);
    let ev = capture.event_for(&request_id(&unknown)).await;
    assert_eq!(ev["http.response.status_code"], 404);
    assert_eq!(ev["error.type"], "DeploymentNotFound");
    assert_eq!(ev["gen_ai.request.model"], "gpt-9");
    assert!(ev.get("routewise.deployment").is_none(), "{ev}");

    let route = client()
        .get(format!("{}/nothing-here", gw.endpoint()))
        .send()
        .await
        .unwrap();
    let ev = capture.event_for(&request_id(&route)).await;
    assert_eq!(ev["routewise.route"], "other");
    assert_eq!(ev["http.response.status_code"], 404);
    assert_eq!(ev["error.type"], "404");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_rate_limited_request_logs_the_refusal_and_counts_it() {
    let redis = RedisServer::start();
    let (capture, _guard) = capture_json();
    let gw = start(&format!(
        "{FAST_EMULATOR}\n[store]\nredis_url = \"{}\"\n\
         [[deployments]]\nname = \"small\"\nupstream = \"emu\"\nrpm = 60\n",
        redis.url()
    ))
    .await;
    let ask = json!({"model": "small", "input": "Say hi.", "store": false});
    let ok = post(&gw, &ask).await;
    assert_eq!(ok.status(), 200);
    let ev = capture.event_for(&request_id(&ok)).await;
    assert_eq!(ev["routewise.rate_limit"], "admitted");
    let refused = post(&gw, &ask).await;
    assert_eq!(refused.status(), 429);
    let ev = capture.event_for(&request_id(&refused)).await;
    assert_eq!(ev["http.response.status_code"], 429);
    assert_eq!(ev["error.type"], "429");
    assert_eq!(ev["routewise.rate_limit"], "refused");
    assert_eq!(ev["routewise.attempts"], 0);
    let text = scrape(&gw, None).await;
    let samples = parse_exposition(&text);
    assert_eq!(
        value(
            &samples,
            "routewise_rate_limited_total",
            &[("deployment", "small")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "routewise_requests_total",
            &[
                ("deployment", "small"),
                ("model", "small"),
                ("status_class", "4xx")
            ]
        ),
        1.0
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn routed_requests_log_the_router_its_mode_and_the_served_model() {
    let (capture, _guard) = capture_json();
    let gw = gateway().await;
    let resp = post(
        &gw,
        &json!({"model": "model-router", "input": "What is 2 + 2?"}),
    )
    .await;
    let id = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    let ev = capture.event_for(&id).await;
    assert_eq!(ev["gen_ai.request.model"], "model-router");
    assert_eq!(ev["routewise.router"], "model-router");
    assert_eq!(ev["routewise.router.mode"], "balanced");
    assert_eq!(ev["gen_ai.response.model"], body["model"]);
    let deployment = ev["routewise.deployment"].as_str().unwrap();
    let expected = if body["model"] == "gpt-5-mini" {
        "mini"
    } else {
        "nano"
    };
    assert_eq!(deployment, expected, "{ev}");

    let resp = post_with(
        &gw,
        &json!({"model": "model-router", "input": "Prove that sqrt(2) is irrational.",
                "routing_config": {"mode": "quality"}}),
        &[("foundry-features", "ModelRouterControls=V1Preview")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let ev = capture.event_for(&request_id(&resp)).await;
    assert_eq!(ev["routewise.router.mode"], "quality");
    gw.shutdown().await;
}

#[tokio::test]
async fn no_prompt_key_or_token_reaches_any_log_line() {
    const KEY: &str = "sk-live-KEY-0123456789abcdef";
    const WRONG: &str = "sk-wrong-TOKEN-fedcba9876543210";
    // Letters around the digits: a bare "9931" turns up in log timestamps by chance.
    const PROMPT: &str = "my bank PIN is zq9931x-PROMPT-SECRET";
    let (capture, _guard) = capture_text(tracing::Level::DEBUG);
    let toml = format!(
        "[access]\napi_keys_env = [\"TELEMETRY_TEST_KEYS\"]\n{FAST_EMULATOR}\n{TWO_DEPLOYMENTS}"
    );
    let gw = start_with_env(&toml, &|v| {
        (v == "TELEMETRY_TEST_KEYS").then(|| KEY.to_owned())
    })
    .await;
    let bearer = format!("Bearer {KEY}");
    for (model, stream) in [("nano", false), ("model-router", true)] {
        let body = json!({"model": model, "input": PROMPT, "stream": stream});
        let resp = post_with(&gw, &body, &[("authorization", &bearer)]).await;
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        assert!(text.contains("zq9931x"), "the emulator echoes topic words");
    }
    let resp = post_with(
        &gw,
        &json!({"model": "nano", "input": PROMPT}),
        &[("api-key", KEY)],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let wrong = format!("Bearer {WRONG}");
    let resp = post_with(
        &gw,
        &json!({"model": "nano", "input": PROMPT}),
        &[("authorization", &wrong)],
    )
    .await;
    assert_eq!(resp.status(), 401);
    let deadline = Instant::now() + Duration::from_secs(5);
    while capture.text().matches("access").count() < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gw.shutdown().await;
    let logs = capture.text();
    assert!(
        logs.matches("routewise::access").count() >= 4,
        "one access event per request:\n{logs}"
    );
    assert!(logs.contains("http.response.status_code=401"), "{logs}");
    for secret in [
        KEY,
        WRONG,
        "zq9931x",
        "PROMPT-SECRET",
        "bank PIN",
        "emulated",
    ] {
        assert!(!logs.contains(secret), "{secret:?} leaked into:\n{logs}");
    }
}

// ---------------------------------------------------------------- /metrics

/// One parsed sample line.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses a Prometheus text exposition, asserting the grammar line by line: `# HELP` and
/// `# TYPE` before a family's samples, metric and label names, escaped label values, a
/// number, and no series twice.
fn parse_exposition(text: &str) -> Vec<Sample> {
    fn is_name(s: &str, colon: bool) -> bool {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    }
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helped: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    let mut seen = std::collections::HashSet::new();
    assert!(text.ends_with('\n'), "the exposition ends with a line feed");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(is_name(name, true) && !help.is_empty(), "{line}");
            helped.push(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(is_name(name, true), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "TYPE twice: {line}"
            );
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "unexpected line {line:?}"
        );
        let name_end = line.find(['{', ' ']).expect("a sample has a value");
        let name = &line[..name_end];
        assert!(is_name(name, true), "metric name in {line}");
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            rest = parse_labels(body, line, &mut labels);
        }
        let value = rest.strip_prefix(' ').expect("one space before the value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value {v:?} in {line}")),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|s| name.strip_suffix(s))
            .find(|f| types.get(*f).is_some_and(|k| k == "histogram"))
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample before its TYPE: {line}");
        assert!(
            helped.iter().any(|h| h == family),
            "sample before its HELP: {line}"
        );
        let key = format!("{name}{labels:?}");
        assert!(seen.insert(key), "series twice: {line}");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

/// Parses `name="value",...}` (after the `{`) and returns what follows the `}`.
fn parse_labels<'a>(body: &'a str, line: &str, labels: &mut BTreeMap<String, String>) -> &'a str {
    let mut s = body;
    if let Some(after) = s.strip_prefix('}') {
        return after;
    }
    loop {
        let eq = s
            .find("=\"")
            .unwrap_or_else(|| panic!("label=\"value\" in {line}"));
        let lname = &s[..eq];
        assert!(
            !lname.is_empty()
                && lname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !lname.starts_with(|c: char| c.is_ascii_digit()),
            "label name {lname:?} in {line}"
        );
        let mut value = String::new();
        let mut it = s[eq + 2..].char_indices();
        let end = loop {
            let (i, c) = it
                .next()
                .unwrap_or_else(|| panic!("closing quote in {line}"));
            match c {
                '"' => break eq + 2 + i + 1,
                '\\' => {
                    let (_, e) = it.next().expect("escape");
                    value.push(match e {
                        'n' => '\n',
                        '\\' => '\\',
                        '"' => '"',
                        other => panic!("bad escape \\{other} in {line}"),
                    });
                }
                c => value.push(c),
            }
        };
        assert!(
            labels.insert(lname.to_owned(), value).is_none(),
            "label twice: {line}"
        );
        s = &s[end..];
        if let Some(after) = s.strip_prefix(',') {
            s = after;
        } else if let Some(after) = s.strip_prefix('}') {
            return after;
        } else {
            panic!("expected , or }} in {line}");
        }
    }
}

/// The value of the one sample with this name and these labels (others ignored).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].value
}

/// Asserts every histogram's buckets are cumulative, end with `+Inf`, and `+Inf` = `_count`.
fn check_histograms(samples: &[Sample]) {
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.name.ends_with("_bucket")) {
        let mut labels = s.labels.clone();
        let le = labels.remove("le").expect("a bucket has le");
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap()
        };
        let family = s.name.trim_end_matches("_bucket");
        buckets
            .entry(format!("{family}|{labels:?}"))
            .or_default()
            .push((le, s.value));
    }
    assert!(!buckets.is_empty());
    for (series, bs) in &buckets {
        assert!(
            bs.windows(2).all(|w| w[0].0 < w[1].0),
            "le ascending: {series}"
        );
        assert!(
            bs.windows(2).all(|w| w[0].1 <= w[1].1),
            "cumulative: {series} {bs:?}"
        );
        let (last_le, inf) = *bs.last().unwrap();
        assert!(last_le.is_infinite(), "ends with +Inf: {series}");
        let (family, labels) = series.split_once('|').unwrap();
        let count = samples
            .iter()
            .find(|s| s.name == format!("{family}_count") && format!("{:?}", s.labels) == labels)
            .unwrap_or_else(|| panic!("{family}_count for {labels}"));
        assert_eq!(inf, count.value, "+Inf = _count: {series}");
        assert!(
            samples
                .iter()
                .any(|s| s.name == format!("{family}_sum") && format!("{:?}", s.labels) == labels),
            "{family}_sum for {labels}"
        );
    }
}

async fn scrape(gw: &RunningGateway, key: Option<&str>) -> String {
    let mut req = client().get(format!("{}/metrics", gw.endpoint()));
    if let Some(key) = key {
        req = req.header("api-key", key);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    resp.text().await.unwrap()
}

#[tokio::test]
async fn metrics_are_a_valid_exposition_that_counts_requests_tokens_and_latency() {
    let gw = gateway().await;
    let before = parse_exposition(&scrape(&gw, None).await);
    check_histograms(&before);
    let ok_nano = [
        ("deployment", "nano"),
        ("model", "gpt-4.1-nano-2025-04-14"),
        ("status_class", "2xx"),
    ];
    assert_eq!(value(&before, "routewise_requests_total", &ok_nano), 0.0);

    let mut input = 0;
    let mut output = 0;
    for _ in 0..2 {
        let resp = post(&gw, &json!({"model": "nano", "input": "Name a planet."})).await;
        let body: Value = resp.json().await.unwrap();
        input += body["usage"]["input_tokens"].as_u64().unwrap();
        output += body["usage"]["output_tokens"].as_u64().unwrap();
    }
    let resp = post(
        &gw,
        &json!({"model": "nano", "input": "Name a moon.", "stream": true}),
    )
    .await;
    let events = parse_sse(&resp.text().await.unwrap());
    let done = &events.last().unwrap().1["response"]["usage"];
    input += done["input_tokens"].as_u64().unwrap();
    output += done["output_tokens"].as_u64().unwrap();
    let routed = post(&gw, &json!({"model": "model-router", "input": "Hi"})).await;
    let routed: Value = routed.json().await.unwrap();
    assert_eq!(
        post(&gw, &json!({"model": "nope", "input": "x"}))
            .await
            .status(),
        404
    );
    // Give the stream's record (emitted as its body ends) a moment to be counted.
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let after = parse_exposition(&scrape(&gw, None).await);
        if value(&after, "routewise_requests_total", &ok_nano) >= 3.0 || Instant::now() > deadline {
            break after;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    check_histograms(&after);
    assert_eq!(value(&after, "routewise_requests_total", &ok_nano), 3.0);
    let tokens = |kind| {
        value(
            &after,
            "routewise_tokens_total",
            &[
                ("deployment", "nano"),
                ("model", "gpt-4.1-nano-2025-04-14"),
                ("kind", kind),
            ],
        )
    };
    assert_eq!(tokens("input"), input as f64);
    assert_eq!(tokens("output"), output as f64);
    let routed_model = routed["model"].as_str().unwrap();
    assert_eq!(
        value(
            &after,
            "routewise_requests_total",
            &[
                ("deployment", "model-router"),
                ("model", routed_model),
                ("status_class", "2xx")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "routewise_requests_total",
            &[
                ("deployment", "unknown"),
                ("model", "unknown"),
                ("status_class", "4xx")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "routewise_upstream_attempts_total",
            &[("deployment", "nano"), ("outcome", "ok")]
        ) + value(
            &after,
            "routewise_upstream_attempts_total",
            &[("deployment", "mini"), ("outcome", "ok")]
        ),
        4.0
    );
    assert_eq!(
        value(
            &after,
            "routewise_request_duration_seconds_count",
            &[("deployment", "nano")]
        ),
        3.0
    );
    assert!(
        value(
            &after,
            "routewise_request_duration_seconds_sum",
            &[("deployment", "nano")]
        ) > 0.0
    );
    assert_eq!(
        value(
            &after,
            "routewise_time_to_first_token_seconds_count",
            &[("deployment", "nano")]
        ),
        1.0
    );
    // Every counter only grew.
    for b in before.iter().filter(|s| s.name.ends_with("_total")) {
        let a = value(
            &after,
            &b.name,
            &b.labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        );
        assert!(a >= b.value, "{} {:?} went down", b.name, b.labels);
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn metrics_need_a_key_when_access_control_is_on() {
    let toml = format!(
        "[access]\napi_keys_env = [\"METRICS_TEST_KEYS\"]\n{FAST_EMULATOR}\n{TWO_DEPLOYMENTS}"
    );
    let gw = start_with_env(&toml, &|v| {
        (v == "METRICS_TEST_KEYS").then(|| "scrape-key".to_owned())
    })
    .await;
    let url = format!("{}/metrics", gw.endpoint());
    let anonymous = client().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let bearer = client()
        .get(&url)
        .bearer_auth("scrape-key")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    check_histograms(&parse_exposition(&bearer.text().await.unwrap()));
    assert!(parse_exposition(&scrape(&gw, Some("scrape-key")).await).len() > 10);
    let health = client()
        .get(format!("{}/healthz", gw.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "probes stay open");
    gw.shutdown().await;

    let open = gateway().await;
    assert!(
        !scrape(&open, None).await.is_empty(),
        "no access control: open"
    );
    open.shutdown().await;
}

#[test]
fn the_exposition_checker_rejects_what_prometheus_would() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\",y=\"2\"} 3\n";
    let s = parse_exposition(good);
    assert_eq!(s[0].labels["x"], "q\"\\\n");
    assert_eq!(s[0].labels["y"], "2");
    for bad in [
        "a_total 1\n",                                                       // no TYPE
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1} 1\n",     // unterminated value
        "# HELP a_total A.\n# TYPE a_total counter\na_total{1x=\"1\"} 1\n",  // bad label name
        "# HELP a_total A.\n# TYPE a_total counter\na_total one\n",          // bad value
        "# HELP a_total A.\n# TYPE a_total counter\na_total 1\na_total 2\n", // series twice
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_exposition(bad)).is_err(),
            "accepted {bad:?}"
        );
    }
}

#[tokio::test]
async fn a_background_request_logs_its_submission_and_its_run_once_each() {
    let (capture, _guard) = capture_json();
    let redis = RedisServer::start();
    let gw = start(&format!(
        "{FAST_EMULATOR}\n{TWO_DEPLOYMENTS}\n[store]\nredis_url = \"{}\"\n",
        redis.url()
    ))
    .await;
    let resp = post(
        &gw,
        &json!({"model": "nano", "input": "What is 2 + 2?", "background": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    let events = loop {
        let events: Vec<Value> = capture
            .access()
            .into_iter()
            .filter(|v| v["routewise.request_id"] == rid.as_str())
            .collect();
        if events.len() >= 2 || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(events.len(), 2, "{events:?}");
    let submission = &events[0];
    assert_eq!(submission["routewise.route"], "responses.create");
    assert_eq!(submission["http.response.status_code"], 200);
    assert_eq!(submission["gen_ai.response.id"], id.as_str());
    let run = &events[1];
    assert_eq!(run["routewise.route"], "responses.background");
    assert_eq!(run["routewise.outcome"], "completed");
    assert_eq!(run["gen_ai.response.id"], id.as_str());
    assert_eq!(run["routewise.deployment"], "nano");
    assert!(run["gen_ai.usage.output_tokens"].as_u64().unwrap() > 0);

    // Refused at submission: one record, the submission's.
    let refused = post(
        &gw,
        &json!({"model": "nano", "input": "hi", "background": true, "store": false}),
    )
    .await;
    assert_eq!(refused.status(), 400);
    let rid = request_id(&refused);
    let ev = capture.event_for(&rid).await;
    assert_eq!(ev["routewise.route"], "responses.create");
    assert_eq!(ev["error.type"], "unsupported_parameter");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let count = capture
        .access()
        .iter()
        .filter(|v| v["routewise.request_id"] == rid.as_str())
        .count();
    assert_eq!(count, 1);
    gw.shutdown().await;
}
