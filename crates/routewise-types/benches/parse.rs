//! Parse cost of the wire types next to a plain `serde_json::Value` parse of the same bytes.
//!
//! Run with `cargo bench -p routewise-types --bench parse`. Before the criterion runs, each case
//! prints `typed / Value` measured in the same process, so the ratio does not depend on the
//! machine: below 1.0 the typed parse is cheaper than building a `Value` tree.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use routewise_types::{CreateResponse, DeltaEvent, ResponseStreamEvent, parse};
use serde_json::Value;

const DELTA: &str = r#"{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_67cb3252cfac8190865744873aada798","output_index":0,"content_index":0,"delta":"Hel","logprobs":[],"obfuscation":"q9Zx"}"#;

const CREATED: &str = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_67cb32528d6881909eb2859a55e18a85","object":"response","created_at":1741369938,"status":"in_progress","background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1-nano-2025-04-14","output":[],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}}"#;

const RESPONSE: &str = include_str!("../tests/fixtures/response_full.json");
const REQUEST: &str = include_str!("../tests/fixtures/request_function_tools.json");

/// A `response.completed` of about 124 KB: the full fixture response with its output repeated
/// (messages with annotations, reasoning, function calls) until it reaches that size.
fn completed_124k() -> String {
    let mut response: Value = serde_json::from_str(RESPONSE).expect("fixture is JSON");
    let template = response["output"].as_array().expect("output").clone();
    let annotated = serde_json::json!({
        "id": "msg_annotated", "type": "message", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": "Retrieval-augmented generation grounds a model's answer in documents fetched at query time. ".repeat(4),
            "annotations": [{"type": "url_citation", "url": "https://example.com/rag", "title": "RAG", "start_index": 0, "end_index": 40},
                            {"type": "file_citation", "file_id": "file_1", "filename": "notes.pdf", "index": 12}],
            "logprobs": []}]
    });
    let output = response["output"].as_array_mut().expect("output");
    let mut n = 0;
    while serde_json::to_string(output).expect("serialises").len() < 124 * 1024 {
        let mut item = if n % 4 == 3 {
            annotated.clone()
        } else {
            template[n % template.len()].clone()
        };
        item["id"] = Value::String(format!("item_{n}"));
        output.push(item);
        n += 1;
    }
    let event = serde_json::json!({"type": "response.completed", "sequence_number": 42, "response": response});
    serde_json::to_string(&event).expect("serialises")
}

/// A request with several function tools, a tool choice and mixed input items.
fn request_with_tools() -> String {
    let mut request: Value = serde_json::from_str(REQUEST).expect("fixture is JSON");
    let tool = request["tools"][0].clone();
    let tools = request["tools"].as_array_mut().expect("tools");
    for i in 0..4 {
        let mut more = tool.clone();
        more["name"] = Value::String(format!("tool_{i}"));
        tools.push(more);
    }
    request["tool_choice"] = serde_json::json!({"type": "function", "name": "get_weather"});
    let input = request["input"].as_array_mut().expect("input");
    input.insert(
        0,
        serde_json::json!({"role": "user", "content": "What is the weather in Paris?"}),
    );
    input.insert(
        1,
        serde_json::json!({"type": "function_call", "id": "fc_1", "call_id": "call_abc",
        "name": "get_weather", "arguments": "{\"location\":\"Paris\"}", "status": "completed"}),
    );
    serde_json::to_string(&request).expect("serialises")
}

fn per_iter(iters: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed() / iters
}

/// Times the typed parse and the `Value` parse alternately (median of rounds) and prints both
/// and their ratio.
fn print_ratio(name: &str, bytes: &[u8], typed: fn(&[u8])) {
    let value = |b: &[u8]| {
        black_box(serde_json::from_slice::<Value>(b).expect("valid JSON"));
    };
    let iters = u32::try_from((2_000_000 / bytes.len().max(1)).clamp(20, 20_000)).unwrap_or(20);
    let (mut typed_ns, mut value_ns) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        typed_ns.push(per_iter(iters, || typed(black_box(bytes))).as_nanos());
        value_ns.push(per_iter(iters, || value(black_box(bytes))).as_nanos());
    }
    typed_ns.sort_unstable();
    value_ns.sort_unstable();
    let (t, v) = (typed_ns[typed_ns.len() / 2], value_ns[value_ns.len() / 2]);
    println!(
        "{name:<28} {:>7} bytes  typed {t:>9} ns  Value {v:>9} ns  typed/Value {:.2}",
        bytes.len(),
        t as f64 / v as f64
    );
}

/// A named input and the typed parse to run on it.
type Case<'a> = (&'static str, &'a [u8], fn(&[u8]));

fn parse_event(bytes: &[u8]) {
    black_box(parse::<ResponseStreamEvent>(bytes).expect("event parses"));
}

fn parse_delta_struct(bytes: &[u8]) {
    black_box(parse::<DeltaEvent>(bytes).expect("delta parses"));
}

fn parse_request(bytes: &[u8]) {
    black_box(parse::<CreateResponse>(bytes).expect("request parses"));
}

fn bench(c: &mut Criterion) {
    let completed = completed_124k();
    let request = request_with_tools();
    let cases: [Case<'_>; 4] = [
        ("output_text.delta event", DELTA.as_bytes(), parse_event),
        ("response.created event", CREATED.as_bytes(), parse_event),
        (
            "response.completed 124 KB",
            completed.as_bytes(),
            parse_event,
        ),
        ("request with tools", request.as_bytes(), parse_request),
    ];
    for (name, bytes, typed) in cases {
        print_ratio(name, bytes, typed);
    }
    // The floor for the delta: its struct read directly, with no union dispatch.
    print_ratio("  (DeltaEvent alone)", DELTA.as_bytes(), parse_delta_struct);
    for (name, bytes, typed) in cases {
        let mut group = c.benchmark_group(name);
        group.bench_function("typed", |b| b.iter(|| typed(black_box(bytes))));
        group.bench_function("Value", |b| {
            b.iter(|| black_box(serde_json::from_slice::<Value>(black_box(bytes)).expect("JSON")))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
