//! Content filters with custom blocklists: Azure's 400 and three-frame stream for a blocked
//! prompt, `incomplete`/`content_filter` for a blocked answer (JSON and streamed, a term split
//! across deltas included), `content_filters` annotations, which filter applies to routed and
//! pinned requests, config errors, and logs that never carry the matched text.

use std::time::Duration;

use crate::common::{
    FAST_EMULATOR, error_of, output_text, parse_sse, post, sse, start, streamed_text,
};
use routewise_gateway::{Config, GatewayError};
use routewise_testkit::{Script, SseFaultServer, fixtures};
use serde_json::{Value, json};

/// Filters: `prompts` (both sides: a phrase, a word and a pattern), `answers` (completion
/// only: a phrase the emulator writes when asked about it), `router` (a word only the router
/// deployment blocks). Deployments: `plain` (none), `guarded` (`prompts`), `answering`
/// (`answers`), all serving model `m` so they answer alike; `model-router` over `guarded`
/// with the `router` filter.
fn filtered_pool(extra: &str) -> String {
    format!(
        r#"
{FAST_EMULATOR}
[[content_filters]]
name = "prompts"
blocklists = [
  {{ name = "codenames", terms = ["Project Falcon", "falcon"] }},
  {{ name = "ids", patterns = ['\bPF-\d{{4}}\b'] }},
]

[[content_filters]]
name = "answers"
apply_to = "completion"
blocklists = [{{ name = "physics", terms = ["quantum entanglement"] }}]

[[content_filters]]
name = "router"
apply_to = "prompt"
blocklists = [{{ name = "airships", terms = ["zeppelin"] }}]

[[deployments]]
name = "plain"
model = "m"
upstream = "emu"

[[deployments]]
name = "guarded"
model = "m"
upstream = "emu"
content_filter = "prompts"

[[deployments]]
name = "answering"
model = "m"
upstream = "emu"
content_filter = "answers"

{extra}

[[routers]]
name = "model-router"
models = ["guarded"]
content_filter = "router"
"#
    )
}

fn ask(model: &str, input: &str) -> Value {
    json!({"model": model, "input": input})
}

fn ask_stream(model: &str, input: &str) -> Value {
    json!({"model": model, "input": input, "stream": true})
}

/// Sends `body` and returns the status.
async fn status_of(gw: &routewise_gateway::RunningGateway, body: &Value) -> u16 {
    post(gw, body).await.status().as_u16()
}

const ENTANGLED: &str = "Explain quantum entanglement in simple terms.";

#[tokio::test]
async fn a_blocked_prompt_is_azures_400_with_the_blocklist_named() {
    let gw = start(&filtered_pool("")).await;
    let resp = post(&gw, &ask("guarded", "Tell me about project FALCON.")).await;
    let err = error_of(resp, 400).await;
    assert_eq!(err["code"], "content_filter");
    assert_eq!(err["param"], "prompt");
    assert_eq!(err["type"], Value::Null);
    assert_eq!(err["status"], 400);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("The response was filtered due to the prompt triggering Azure OpenAI's content management policy."),
        "{err}"
    );
    assert_eq!(err["innererror"]["code"], "ResponsibleAIPolicyViolation");
    assert_eq!(
        err["innererror"]["content_filter_result"],
        json!({"custom_blocklists": {"filtered": true, "details": [{"id": "codenames", "filtered": true}]}})
    );
    assert!(!err.to_string().to_lowercase().contains("falcon"), "{err}");
    // The typed error behind it.
    let typed = GatewayError::ContentFiltered {
        blocklists: vec!["codenames".into()],
    };
    assert!(typed.is_content_filtered() && !typed.is_invalid_request());
    assert_eq!(typed.status().as_u16(), 400);
    assert_eq!(typed.body()["error"], err);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_blocked_streamed_prompt_ends_like_azures_stream() {
    let gw = start(&filtered_pool("")).await;
    let events = sse(post(&gw, &ask_stream("guarded", "ticket PF-1234 please")).await).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["response.created", "response.failed", "error"]);
    assert_eq!(events[0].1["response"]["status"], "in_progress");
    let failed = &events[1].1["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"], Value::Null);
    assert_eq!(failed["output"], json!([]));
    assert_eq!(failed["content_filters"][0]["blocked"], true);
    assert_eq!(failed["content_filters"][0]["source_type"], "prompt");
    assert_eq!(
        failed["content_filters"][0]["content_filter_results"]["custom_blocklists"]["details"],
        json!([{"id": "ids", "filtered": true}])
    );
    let error = &events[2].1;
    assert_eq!(error["error"]["code"], "content_policy_violation");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let seqs: Vec<u64> = events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [0, 1, 2]);
    gw.shutdown().await;
}

#[tokio::test]
async fn terms_are_case_insensitive_whole_words_and_patterns_are_regexes() {
    let gw = start(&filtered_pool("")).await;
    for blocked in [
        "FaLcOn!",
        "a falcon\nflies",
        "PROJECT\tfalcon",
        "see PF-0042.",
    ] {
        assert_eq!(
            status_of(&gw, &ask("guarded", blocked)).await,
            400,
            "{blocked:?}"
        );
    }
    for clean in ["falconry and falcons", "Falcon9", "PF-12345", "pf-1234"] {
        assert_eq!(
            status_of(&gw, &ask("guarded", clean)).await,
            200,
            "{clean:?}"
        );
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn instructions_and_earlier_turns_are_checked_too() {
    let gw = start(&filtered_pool("")).await;
    let bodies = [
        json!({"model": "guarded", "instructions": "Mention the falcon.", "input": "hi"}),
        json!({"model": "guarded", "input": [
            {"role": "user", "content": "hi"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "The Falcon is ready."}]},
            {"role": "user", "content": [{"type": "input_text", "text": "go on"}]}
        ]}),
        json!({"model": "guarded", "input": [{"type": "function_call_output", "call_id": "c1", "output": "falcon"}]}),
    ];
    for body in &bodies {
        let err = error_of(post(&gw, body).await, 400).await;
        assert_eq!(err["code"], "content_filter", "{body}");
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn routed_requests_use_the_routers_filter_and_pinned_their_own() {
    let gw = start(&filtered_pool("")).await;
    // Through the router: only the router's filter applies, not the served deployment's.
    let err = error_of(
        post(&gw, &ask("model-router", "A zeppelin ride")).await,
        400,
    )
    .await;
    assert_eq!(
        err["innererror"]["content_filter_result"]["custom_blocklists"]["details"][0]["id"],
        "airships"
    );
    let resp = post(&gw, &ask("model-router", "A falcon ride")).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let filters = body["content_filters"].as_array().unwrap();
    // The router's filter checks prompts only.
    assert_eq!(filters.len(), 1, "{body}");
    assert_eq!(filters[0]["source_type"], "prompt");
    // Pinned: the deployment's own filter.
    assert_eq!(
        status_of(&gw, &ask("guarded", "A zeppelin ride")).await,
        200
    );
    assert_eq!(status_of(&gw, &ask("guarded", "A falcon ride")).await, 400);
    gw.shutdown().await;
}

#[tokio::test]
async fn without_a_filter_nothing_is_checked_or_annotated() {
    let gw = start(&filtered_pool("")).await;
    let resp = post(&gw, &ask("plain", "A falcon and a zeppelin")).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["content_filters"],
        json!([]),
        "the emulator's own, untouched"
    );
    assert_eq!(body["status"], "completed");
    let events = sse(post(&gw, &ask_stream("plain", ENTANGLED)).await).await;
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "response.completed");
    assert_eq!(data["response"]["content_filters"], json!([]));
    gw.shutdown().await;
}

#[tokio::test]
async fn clean_answers_carry_blocked_false_annotations() {
    let gw = start(&filtered_pool("")).await;
    let expected = json!([
        {"blocked": false, "source_type": "prompt", "content_filter_results": {"custom_blocklists": {"filtered": false, "details": []}}},
        {"blocked": false, "source_type": "completion", "content_filter_results": {"custom_blocklists": {"filtered": false, "details": []}}},
    ]);
    let resp = post(&gw, &ask("guarded", "Explain photosynthesis.")).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "completed");
    assert_eq!(body["content_filters"], expected);
    let events = sse(post(&gw, &ask_stream("guarded", "Explain photosynthesis.")).await).await;
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "response.completed");
    assert_eq!(data["response"]["content_filters"], expected);
    // The whole answer arrived, in order, with gap-free sequence numbers.
    assert_eq!(streamed_text(&events), output_text(&data["response"]));
    let seqs: Vec<u64> = events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>());
    gw.shutdown().await;
}

#[tokio::test]
async fn a_blocked_json_answer_is_incomplete_without_its_text() {
    let gw = start(&filtered_pool("")).await;
    // The prompt itself passes: this filter checks answers only.
    let resp = post(&gw, &ask("answering", ENTANGLED)).await;
    assert_eq!(resp.status(), 200);
    let raw = resp.text().await.unwrap();
    let body: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(body["status"], "incomplete");
    assert_eq!(
        body["incomplete_details"],
        json!({"reason": "content_filter"})
    );
    let message = body["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "message")
        .unwrap();
    assert_eq!(message["status"], "incomplete");
    assert_eq!(message["content"], json!([]));
    assert!(!raw.to_lowercase().contains("entanglement"), "{raw}");
    assert_eq!(
        body["content_filters"],
        json!([{"blocked": true, "source_type": "completion", "content_filter_results": {
            "custom_blocklists": {"filtered": true, "details": [{"id": "physics", "filtered": true}]}}}])
    );
    // The same model unfiltered does say it.
    let plain: Value = post(&gw, &ask("plain", ENTANGLED))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        output_text(&plain)
            .to_lowercase()
            .contains("quantum entanglement")
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_blocked_stream_stops_at_the_phrase_split_across_deltas() {
    let gw = start(&filtered_pool("")).await;
    let full: Value = post(&gw, &ask("plain", ENTANGLED))
        .await
        .json()
        .await
        .unwrap();
    let full = output_text(&full);
    let at = full
        .to_lowercase()
        .find("quantum entanglement")
        .expect("the emulator repeats the topic");
    let events = sse(post(&gw, &ask_stream("answering", ENTANGLED)).await).await;
    let text = streamed_text(&events);
    // Everything before the phrase went out, none of it or what follows did. The emulator
    // sends one word per delta, so "quantum" and " entanglement" were two deltas.
    assert_eq!(text, full[..at]);
    assert!(!text.is_empty());
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    let last_delta = types
        .iter()
        .rposition(|t| *t == "response.output_text.delta")
        .unwrap();
    assert_eq!(
        &types[last_delta + 1..],
        [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.incomplete"
        ]
    );
    assert_eq!(events[last_delta + 1].1["text"], text);
    let response = &events.last().unwrap().1["response"];
    assert_eq!(response["status"], "incomplete");
    assert_eq!(response["incomplete_details"]["reason"], "content_filter");
    assert_eq!(output_text(response), text);
    assert_eq!(response["content_filters"][0]["blocked"], true);
    assert_eq!(response["content_filters"][0]["source_type"], "completion");
    let seqs: Vec<u64> = events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>());
    gw.shutdown().await;
}

#[tokio::test]
async fn a_word_split_inside_across_deltas_is_caught_from_a_real_upstream() {
    // The recorded stream answers "Hello!" as "Hel" + "lo!".
    let upstream = SseFaultServer::start(
        Script::from_sse_body(fixtures::HELLO_STREAM).frame_delay(Duration::from_millis(1)),
    )
    .await
    .unwrap();
    let extra = format!(
        r#"
[[content_filters]]
name = "greetings"
apply_to = "completion"
blocklists = [{{ name = "hello", terms = ["hello"] }}]

[[deployments]]
name = "recorded"
upstream = {{ kind = "openai_compatible", base_url = "{}" }}
content_filter = "greetings"
"#,
        upstream.openai_base_url()
    );
    let gw = start(&filtered_pool(&extra)).await;
    let resp = post(&gw, &ask_stream("recorded", "say hi")).await;
    let events = parse_sse(&resp.text().await.unwrap());
    assert_eq!(streamed_text(&events), "");
    assert!(!events.iter().any(|(t, _)| t == "response.completed"));
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "response.incomplete");
    assert_eq!(
        data["response"]["id"], "resp_1",
        "built on the upstream's response"
    );
    assert_eq!(
        data["response"]["incomplete_details"]["reason"],
        "content_filter"
    );
    // The upstream's own empty annotation list is kept and ours appended.
    assert_eq!(
        data["response"]["content_filters"][0]["content_filter_results"]["custom_blocklists"]["details"],
        json!([{"id": "hello", "filtered": true}])
    );
    gw.shutdown().await;
}

fn config_error(toml: &str) -> routewise_gateway::ConfigError {
    Config::from_toml_str(toml, "f.toml").unwrap_err()
}

#[test]
fn config_errors_name_the_key() {
    let dep = |extra: &str| {
        format!("[[deployments]]\nname = \"d\"\nupstream = {{ kind = \"emulator\" }}\n{extra}\n")
    };
    let filter = |body: &str| format!("[[content_filters]]\nname = \"f\"\n{body}\n{}", dep(""));
    let cases = [
        (
            dep("content_filter = \"nope\""),
            "deployments[0].content_filter",
            "unknown content filter \"nope\"",
        ),
        (
            format!(
                "{}[[routers]]\nname = \"r\"\ncontent_filter = \"nope\"\n",
                dep("")
            ),
            "routers[0].content_filter",
            "unknown content filter",
        ),
        (filter(""), "content_filters[0].blocklists", "is empty"),
        (
            filter("blocklists = [{ name = \"l\" }]"),
            "content_filters[0].blocklists[0]",
            "no terms and no patterns",
        ),
        (
            filter("blocklists = [{ name = \"l\", terms = [\"ok\", \" \"] }]"),
            "content_filters[0].blocklists[0].terms[1]",
            "must not be empty",
        ),
        (
            filter("blocklists = [{ name = \"l\", patterns = [\"a(\"] }]"),
            "content_filters[0].blocklists[0].patterns[0]",
            "invalid regex",
        ),
        (
            filter("blocklists = [{ name = \"l\", patterns = [\"x?\"] }]"),
            "content_filters[0].blocklists[0].patterns[0]",
            "matches the empty string",
        ),
        (
            filter("apply_to = \"answers\"\nblocklists = [{ name = \"l\", terms = [\"x\"] }]"),
            "content_filters[0].apply_to",
            "expected prompt, completion or both",
        ),
        (
            filter(
                "blocklists = [{ name = \"l\", terms = [\"x\"] }, { name = \"l\", terms = [\"y\"] }]",
            ),
            "content_filters[0].blocklists[1].name",
            "duplicate blocklist",
        ),
        (
            format!(
                "[[content_filters]]\nname = \"f\"\nblocklists = [{{ name = \"l\", terms = [\"x\"] }}]\n{}",
                filter("blocklists = [{ name = \"l\", terms = [\"x\"] }]")
            ),
            "content_filters[1].name",
            "duplicate content filter",
        ),
    ];
    for (toml, key, message) in &cases {
        let err = config_error(toml);
        assert!(err.is_invalid(), "{err}");
        assert_eq!(err.key_path, *key, "{err}");
        assert!(err.message.contains(message), "{err}");
        assert!(err.to_string().starts_with("f.toml: "), "{err}");
    }
    // A typo'd key is a syntax error with its path.
    let err = config_error(&filter("blocklists = [{ name = \"l\", term = [\"x\"] }]"));
    assert!(err.is_syntax(), "{err}");
    assert!(
        err.key_path.starts_with("content_filters[0].blocklists[0]"),
        "{err}"
    );
}

#[test]
fn a_valid_filter_is_compiled_once_into_the_config() {
    let cfg = Config::from_toml_str(&filtered_pool(""), "f.toml").unwrap();
    let f = &cfg.content_filters[0];
    assert_eq!(f.name(), "prompts");
    assert_eq!(f.blocklists().len(), 2);
    // The longest term is 14 characters, but patterns need the default window.
    assert_eq!(f.stream_window(), 64);
    assert_eq!(
        cfg.content_filters[1].stream_window(),
        "quantum entanglement".len()
    );
    assert_eq!(
        cfg.deployment("guarded").unwrap().content_filter.as_deref(),
        Some("prompts")
    );
    assert_eq!(cfg.routers[0].content_filter.as_deref(), Some("router"));
    // Debug never prints a term.
    let debug = format!("{cfg:?}");
    assert!(
        !debug.contains("Falcon") && !debug.contains("zeppelin"),
        "{debug}"
    );
}

#[tokio::test]
async fn logs_name_the_blocklist_never_the_matched_text_or_the_prompt() {
    let (captured, _guard) = crate::common::logs::capture_text(tracing::Level::TRACE);
    let gw = start(&filtered_pool("")).await;
    assert_eq!(
        status_of(&gw, &ask("guarded", "Secretly: project falcon")).await,
        400
    );
    let events = sse(post(&gw, &ask_stream("guarded", "Secretly: project falcon")).await).await;
    assert_eq!(events.len(), 3);
    assert_eq!(status_of(&gw, &ask("answering", ENTANGLED)).await, 200);
    let events = sse(post(&gw, &ask_stream("answering", ENTANGLED)).await).await;
    assert_eq!(events.last().unwrap().0, "response.incomplete");
    gw.shutdown().await;
    let logs = captured.text();
    assert!(
        logs.contains("request blocked by a content filter"),
        "{logs}"
    );
    assert!(logs.contains("codenames"), "{logs}");
    assert!(
        logs.contains("answer blocked by a content filter"),
        "{logs}"
    );
    assert!(
        logs.contains("stream stopped by a content filter"),
        "{logs}"
    );
    assert!(logs.contains("physics"), "{logs}");
    let lower = logs.to_lowercase();
    for secret in ["falcon", "secretly", "entanglement", "quantum"] {
        assert!(!lower.contains(secret), "{secret} in {logs}");
    }
}

#[test]
fn the_example_config_attaches_its_filter_to_the_router_and_a_deployment() {
    let text = include_str!("../../routewise.example.toml");
    let cfg = Config::from_toml_str_with_env(text, "routewise.example.toml", &|var| match var {
        "ROUTEWISE_REDIS_URL" => Some("redis://127.0.0.1:6379/0".into()),
        // Distinct per variable: a key belongs to one principal.
        _ => Some(format!("{var}-value")),
    })
    .unwrap();
    let filter = &cfg.content_filters[0];
    assert_eq!(filter.name(), "corporate");
    assert_eq!(filter.max_match_chars(), 64);
    assert_eq!(
        filter.matching_blocklists("ask about bluebird"),
        ["codenames"]
    );
    assert_eq!(filter.matching_blocklists("PF-2024 status"), ["ticket-ids"]);
    assert_eq!(cfg.routers[0].content_filter.as_deref(), Some("corporate"));
    assert_eq!(
        cfg.deployment("emulated-mini")
            .unwrap()
            .content_filter
            .as_deref(),
        Some("corporate")
    );
}

#[tokio::test]
async fn a_blocked_background_prompt_is_answered_as_in_the_foreground_and_logged_once() {
    let (capture, _guard) = crate::common::logs::capture_json();
    let redis = routewise_testkit::RedisServer::start();
    let gw = start(&format!(
        "{}\n[store]\nredis_url = \"{}\"\n",
        filtered_pool(""),
        redis.url()
    ))
    .await;
    let rid =
        |resp: &reqwest::Response| resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let background = |mut body: Value| {
        body["background"] = json!(true);
        body
    };

    let resp = post(
        &gw,
        &background(ask("guarded", "Tell me about project FALCON.")),
    )
    .await;
    let json_rid = rid(&resp);
    let err = error_of(resp, 400).await;
    assert_eq!(err["code"], "content_filter");

    let resp = post(
        &gw,
        &background(ask_stream("guarded", "ticket PF-1234 please")),
    )
    .await;
    let stream_rid = rid(&resp);
    let events = sse(resp).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["response.created", "response.failed", "error"]);
    assert_eq!(
        events[1].1["response"]["content_filters"][0]["blocked"],
        true
    );

    for (rid, status) in [(json_rid, 400), (stream_rid, 200)] {
        let ev = capture.event_for(&rid).await;
        assert_eq!(ev["http.response.status_code"], status, "{ev}");
        assert_eq!(ev["routewise.route"], "responses.create");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let count = capture
            .access()
            .iter()
            .filter(|v| v["routewise.request_id"] == rid.as_str())
            .count();
        assert_eq!(count, 1, "{rid}");
    }
    gw.shutdown().await;
}
