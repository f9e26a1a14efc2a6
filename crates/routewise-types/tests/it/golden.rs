//! Golden tests: every example of the wire digest (sections 1–4, plus the router details of §6)
//! parses into the expected typed values and round-trips to an equivalent JSON document.

use crate::common::{fixture, round_trip, sse_data};
use routewise_types::*;

#[test]
fn request_with_function_tools_and_chaining() {
    let req: CreateResponse = round_trip(&fixture("request_function_tools.json"));
    assert_eq!(req.model.as_deref(), Some("gpt-4o"));
    assert_eq!(
        req.previous_response_id.as_deref(),
        Some("resp_67cb32528d6881909eb2859a55e18a85")
    );
    let Some(Input::Items(items)) = &req.input else {
        panic!("items expected")
    };
    let InputItem::FunctionCallOutput(out) = &items[0] else {
        panic!("function_call_output expected")
    };
    assert_eq!(out.call_id, "call_abc");
    assert_eq!(
        out.output,
        MessageContent::Text(r#"{"temperature":"70 degrees"}"#.into())
    );
    let Some(tools) = &req.tools else {
        panic!("tools expected")
    };
    let Tool::Function(tool) = &tools[0] else {
        panic!("function tool expected")
    };
    assert_eq!(tool.name, "get_weather");
    assert_eq!(tool.parameters.as_ref().unwrap()["required"][0], "location");
    assert!(!req.is_stream());
}

#[test]
fn full_response_example() {
    let resp: Response = round_trip(&fixture("response_full.json"));
    assert_eq!(resp.status, Some(ResponseStatus::Completed));
    assert_eq!(resp.served_model(), "gpt-4.1-nano-2025-04-14");
    assert_eq!(resp.output_text(), "Great! How can I help you today?");
    assert_eq!(
        resp.created_at.as_ref().and_then(Timestamp::as_secs),
        Some(1741369938)
    );
    let calls = resp.function_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].call_id, "call_Z1x9");
    assert_eq!(calls[0].id.as_deref(), Some("fc_67cb3253b0c1"));
    let usage = resp.usage().unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (20, 11, 31)
    );
    assert_eq!(usage.cached_tokens(), 0);
    assert_eq!(
        resp.reasoning.as_ref().unwrap().effort,
        Some(ReasoningEffort::Low)
    );
    assert_eq!(
        resp.tool_choice,
        Some(ToolChoice::Mode(ToolChoiceMode::Auto))
    );
    assert_eq!(resp.content_filters, Some(vec![]));
    assert!(matches!(resp.output[0], OutputItem::Reasoning(_)));
    // explicit nulls are remembered
    for key in [
        "error",
        "incomplete_details",
        "previous_response_id",
        "max_output_tokens",
        "user",
    ] {
        assert_eq!(resp.extra.get(key), Some(&serde_json::Value::Null), "{key}");
    }
    assert!(resp.error.is_none());
}

#[test]
fn created_at_float_is_kept_exactly() {
    let raw = r#"{"id":"r","object":"response","created_at":1741369938.0,"output":[]}"#;
    let resp: Response = round_trip(raw);
    assert_eq!(serde_json::to_string(&resp).unwrap(), raw);
}

#[test]
fn text_stream_example() {
    let frames = sse_data(&fixture("stream_text.sse"));
    assert_eq!(frames.len(), 10);
    let events: Vec<ResponseStreamEvent> = frames.iter().map(|f| round_trip(f)).collect();
    let seq: Vec<u64> = events
        .iter()
        .filter_map(ResponseStreamEvent::sequence_number)
        .collect();
    assert_eq!(seq, (0..10).collect::<Vec<_>>());
    assert!(matches!(events[0], ResponseStreamEvent::Created(_)));
    assert!(matches!(events[1], ResponseStreamEvent::InProgress(_)));
    assert!(matches!(events[2], ResponseStreamEvent::OutputItemAdded(_)));
    assert!(matches!(
        events[3],
        ResponseStreamEvent::ContentPartAdded(_)
    ));
    let text: String = events
        .iter()
        .filter_map(ResponseStreamEvent::text_delta)
        .collect();
    assert_eq!(text, "Hello!");
    let ResponseStreamEvent::OutputTextDelta(delta) = &events[4] else {
        panic!()
    };
    assert_eq!(delta.obfuscation.as_deref(), Some("q9Zx"));
    let ResponseStreamEvent::OutputTextDone(done) = &events[6] else {
        panic!()
    };
    assert_eq!(done.text, "Hello!");
    assert!(matches!(events[7], ResponseStreamEvent::ContentPartDone(_)));
    assert!(matches!(events[8], ResponseStreamEvent::OutputItemDone(_)));
    let last = &events[9];
    assert!(last.is_terminal());
    assert!(events[..9].iter().all(|e| !e.is_terminal()));
    let resp = last.response().unwrap();
    assert_eq!(resp.output_text(), "Hello!");
    assert_eq!(resp.usage().unwrap().total_tokens, 12);
    assert_eq!(resp.extra.get("..."), Some(&serde_json::json!("...")));
    let created = events[0].response().unwrap();
    assert!(created.usage.is_none() && created.content_filters.is_none());
    assert_eq!(
        created.extra.get("content_filters"),
        Some(&serde_json::Value::Null)
    );
}

#[test]
fn function_call_stream_variant() {
    let events: Vec<ResponseStreamEvent> = sse_data(&fixture("stream_function_call.sse"))
        .iter()
        .map(|f| round_trip(f))
        .collect();
    assert_eq!(events.len(), 5);
    let args: String = events
        .iter()
        .filter_map(|e| match e {
            ResponseStreamEvent::FunctionCallArgumentsDelta(d) => Some(d.delta.as_str()),
            _ => None,
        })
        .collect();
    let ResponseStreamEvent::FunctionCallArgumentsDone(done) = &events[3] else {
        panic!()
    };
    assert_eq!(done.arguments, args);
    assert_eq!(done.name.as_deref(), Some("get_weather"));
    let ResponseStreamEvent::OutputItemDone(item) = &events[4] else {
        panic!()
    };
    let OutputItem::FunctionCall(call) = &item.item else {
        panic!()
    };
    let parsed: serde_json::Value = call.parse_arguments().unwrap();
    assert_eq!(parsed["location"], "Paris");
}

#[test]
fn azure_three_frame_content_filtered_stream() {
    let events: Vec<ResponseStreamEvent> = sse_data(&fixture("stream_content_filtered.sse"))
        .iter()
        .map(|f| round_trip(f))
        .collect();
    assert_eq!(events.len(), 3);
    assert!(matches!(events[0], ResponseStreamEvent::Created(_)));
    let ResponseStreamEvent::Failed(failed) = &events[1] else {
        panic!("response.failed expected")
    };
    assert_eq!(failed.response.status, Some(ResponseStatus::Failed));
    assert!(
        failed.response.error.is_none(),
        "Azure sends error: null here"
    );
    // the reason only arrives in the trailing nested error frame
    let err = events[2].error().expect("error frame");
    assert_eq!(err.code(), Some(&ErrorCode::ContentPolicyViolation));
    assert_eq!(
        err.message(),
        "Your request was flagged by the content filter."
    );
    assert!(err.error.as_ref().unwrap().is_content_filter());
    assert_eq!(
        events[0]
            .response()
            .unwrap()
            .prompt_cache_retention
            .as_deref(),
        Some("in_memory")
    );
}

#[test]
fn openai_inband_error_then_failed() {
    let events: Vec<ResponseStreamEvent> = sse_data(&fixture("stream_openai_inband_error.sse"))
        .iter()
        .map(|f| round_trip(f))
        .collect();
    let err = events[0].error().unwrap();
    assert_eq!(err.code(), Some(&ErrorCode::ServerError));
    assert_eq!(err.sequence_number, Some(3));
    let resp = events[1].response().unwrap();
    assert_eq!(
        resp.error.as_ref().unwrap().code,
        Some(ErrorCode::ServerError)
    );
}

#[test]
fn flat_error_event() {
    let ev: ResponseStreamEvent = round_trip(&fixture("stream_error_flat.json"));
    let err = ev.error().unwrap();
    assert_eq!(err.code(), Some(&ErrorCode::RateLimitExceeded));
    assert_eq!(err.message(), "Rate limit reached");
    assert_eq!(ev.sequence_number(), Some(7));
    assert!(ev.is_terminal());
}

#[test]
fn azure_content_filter_error_body() {
    let body: ErrorResponse = round_trip(&fixture("error_content_filter.json"));
    let err = &body.error;
    assert_eq!(err.code, Some(ErrorCode::ContentFilter));
    assert_eq!(err.status, Some(400));
    assert_eq!(err.param.as_deref(), Some("prompt"));
    assert!(err.r#type.is_none());
    assert!(err.is_content_filter());
    let inner = err.inner().unwrap();
    assert_eq!(inner.code.as_deref(), Some("ResponsibleAIPolicyViolation"));
    let results = inner.filter_results().unwrap();
    assert_eq!(results.filtered_categories(), vec!["self_harm"]);
    assert_eq!(
        results.self_harm.as_ref().unwrap().severity,
        Some(Severity::Medium)
    );
}

#[test]
fn azure_content_filters_on_response() {
    let resp: Response = round_trip(&fixture("response_azure_content_filters.json"));
    assert_eq!(
        resp.incomplete_details.as_ref().unwrap().reason,
        Some(IncompleteReason::ContentFilter)
    );
    let filters = resp.content_filters.as_ref().unwrap();
    let results = filters[0].content_filter_results.as_ref().unwrap();
    assert_eq!(results.filtered_categories(), vec!["violence"]);
    assert_eq!(
        filters[0]
            .content_filter_offsets
            .as_ref()
            .unwrap()
            .end_offset,
        Some(120)
    );
    assert!(resp.usage().unwrap().input_tokens_details.is_none());
    assert_eq!(resp.output_text(), "Partial");
}

#[test]
fn router_model_selection_details() {
    let raw: serde_json::Value =
        serde_json::from_str(&fixture("model_selection_details.json")).unwrap();
    let inner = raw["model_selection_details"].to_string();
    let details: ModelSelectionDetails = round_trip(&inner);
    assert_eq!(details.mode(), Some(&RoutingMode::Balanced));
    let attempts = details.attempts();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].model, "grok-4-1-fast-reasoning");
    let first = attempts[0].result.as_ref().unwrap();
    assert_eq!(first.status, Some(404));
    assert_eq!(
        first.error.as_ref().unwrap().code,
        Some(ErrorCode::NotFound)
    );
    assert_eq!(attempts[1].result.as_ref().unwrap().status, Some(200));
    let rd = details.model_router_details.as_ref().unwrap();
    assert_eq!(
        rd.routing_trace.as_ref().unwrap()[0].latency_ms,
        Some(19.into())
    );
}

#[test]
fn constructed_stream_matches_digest_text_stream() {
    let frames = sse_data(&fixture("stream_text.sse"));
    let ours = [
        ResponseStreamEvent::output_text_delta(4, "msg_1", 0, 0, "Hel"),
        ResponseStreamEvent::output_text_done(6, "msg_1", 0, 0, "Hello!"),
        ResponseStreamEvent::content_part_done(
            7,
            "msg_1",
            0,
            0,
            OutputContent::OutputText(OutputText::new("Hello!")),
        ),
        ResponseStreamEvent::output_item_done(
            8,
            0,
            OutputItem::Message(OutputMessage::text("msg_1", "Hello!")),
        ),
    ];
    let mut expected: Vec<serde_json::Value> = [4, 6, 7, 8]
        .iter()
        .map(|&i| serde_json::from_str(&frames[i]).unwrap())
        .collect();
    expected[0]
        .as_object_mut()
        .unwrap()
        .shift_remove("obfuscation");
    for (ours, want) in ours.iter().zip(&expected) {
        assert_eq!(&serde_json::to_value(ours).unwrap(), want);
    }
}
