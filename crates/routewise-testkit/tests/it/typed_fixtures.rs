//! Cross-check: every fixture and every MockFoundry answer parses into the
//! `routewise-types` model, and typed events render like raw ones.

use routewise_testkit::fixtures::{self, ResponseFixture, parse_sse_data, sse_body};
use routewise_testkit::{Deployment, MockFoundry};
use routewise_types::{
    ErrorResponse, Response, ResponseStreamEvent, Usage, parse_str, parse_value,
};
use serde_json::json;

#[test]
fn static_streams_parse_into_typed_events_and_render_back() {
    for stream in [
        fixtures::HELLO_STREAM,
        fixtures::FUNCTION_CALL_STREAM,
        fixtures::CONTENT_FILTERED_STREAM,
        fixtures::IN_BAND_FAILURE_STREAM,
        fixtures::ERROR_THEN_FAILED_STREAM,
        fixtures::FLAT_ERROR_FRAME,
    ] {
        let typed: Vec<ResponseStreamEvent> = parse_sse_data(stream)
            .into_iter()
            .map(|v| parse_value(v).unwrap())
            .collect();
        for (i, event) in typed.iter().enumerate() {
            assert_eq!(event.sequence_number(), Some(i as u64));
        }
        // Typed events serialise losslessly (key order aside), so rendering
        // them gives the same frames and the same JSON payloads.
        let rendered = sse_body(&typed);
        assert_eq!(
            fixtures::event_types(&rendered),
            fixtures::event_types(stream)
        );
        assert_eq!(parse_sse_data(&rendered), parse_sse_data(stream));
    }
}

#[test]
fn static_bodies_parse_into_typed_models() {
    let response: Response = parse_str(fixtures::RESPONSE_JSON).unwrap();
    assert_eq!(response.served_model(), "gpt-4.1-nano-2025-04-14");
    assert_eq!(response.output_text(), "Great! How can I help you today?");
    assert_eq!(response.function_calls().len(), 1);
    let filtered: ErrorResponse = parse_str(fixtures::CONTENT_FILTER_ERROR_BODY).unwrap();
    assert!(filtered.error.is_content_filter());
    assert!(
        filtered
            .error
            .inner()
            .and_then(|i| i.filter_results())
            .is_some()
    );
    for body in [
        fixtures::DEPLOYMENT_NOT_FOUND_BODY,
        fixtures::RATE_LIMIT_BODY,
        fixtures::UNAUTHORIZED_BODY,
        fixtures::SERVER_ERROR_BODY,
        fixtures::CONTEXT_LENGTH_BODY,
    ] {
        parse_str::<ErrorResponse>(body).unwrap();
    }
}

#[test]
fn fixture_streams_are_valid_typed_streams() {
    let fx = ResponseFixture::new("resp_x", "gpt-5-mini")
        .text("two words")
        .function_call("call_1", "f", "{}")
        .usage(4, 6);
    let events = fx.typed_stream_events().unwrap();
    assert_eq!(events.last().unwrap().event_type(), "response.completed");
    let final_response = fx.to_response().unwrap();
    assert_eq!(final_response.output_text(), "two words");
    assert_eq!(final_response.usage().map(|u| u.output_tokens), Some(6));
    for stream in [
        fx.failed_stream_events("server_error", "x"),
        fx.content_filtered_stream_events(),
    ] {
        for event in stream {
            parse_value::<ResponseStreamEvent>(event).unwrap();
        }
    }
}

#[test]
fn from_response_keeps_fields_and_picks_the_terminal_event() {
    let parsed: Response = parse_str(fixtures::RESPONSE_JSON).unwrap();
    let fx = ResponseFixture::from_response(&parsed);
    assert_eq!(
        fx.to_json(),
        serde_json::from_str::<serde_json::Value>(fixtures::RESPONSE_JSON).unwrap()
    );
    let types: Vec<_> = fx
        .stream_events()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "response.output_item.done")
            .count(),
        3
    );

    let failed = Response::new("resp_f", "m").with_error("server_error", "boom");
    let events = ResponseFixture::from_response(&failed)
        .typed_stream_events()
        .unwrap();
    assert_eq!(events.last().unwrap().event_type(), "response.failed");
}

#[tokio::test]
async fn mock_foundry_answers_with_a_scripted_typed_response() {
    let foundry = MockFoundry::start().await;
    foundry.add_deployment(Deployment::new("custom").respond_with(|req| {
        let prompt = req.input_text().unwrap_or_default();
        Response::new("ignored", "custom-2026-01-01")
            .with_output_text("msg_1", prompt.to_uppercase())
            .with_usage(Usage::new(1, 1))
    }));
    let client = reqwest::Client::new();
    let body: Response = client
        .post(foundry.responses_url())
        .json(&json!({"model": "custom", "input": "shout"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body.served_model(), "custom-2026-01-01");
    assert_eq!(body.output_text(), "SHOUT");
    assert!(
        body.id.starts_with("resp_mock"),
        "the mock assigns ids: {}",
        body.id
    );

    let text = client
        .post(foundry.responses_url())
        .json(&json!({"model": "custom", "input": "quiet", "stream": true}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events: Vec<ResponseStreamEvent> = parse_sse_data(&text)
        .into_iter()
        .map(|v| parse_value(v).unwrap())
        .collect();
    let done = events
        .last()
        .and_then(ResponseStreamEvent::response)
        .unwrap();
    assert_eq!(done.output_text(), "QUIET");
}
