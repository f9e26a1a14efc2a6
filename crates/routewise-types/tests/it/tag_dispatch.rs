//! Tagged unions are read in one pass whatever the position of `type`, and keep what they do not
//! know; errors name the full path even inside members whose `type` came late.

use routewise_types::{
    CreateResponse, InputItem, OutputContent, OutputItem, Response, ResponseStreamEvent,
    ToolChoice, parse, parse_str, parse_value,
};
use serde_json::{Value, json};

#[test]
fn type_after_other_keys_dispatches_to_the_variant() {
    let raw = r#"{"id":"m","role":"assistant","future":[1,{"a":null}],"type":"message","content":[{"text":"hi","annotations":[],"type":"output_text"}]}"#;
    let item: OutputItem = parse_str(raw).unwrap();
    let OutputItem::Message(message) = &item else {
        panic!("not a message: {item:?}");
    };
    assert_eq!(message.id, "m");
    assert_eq!(message.extra["future"], json!([1, {"a": null}]));
    assert!(matches!(&message.content[0], OutputContent::OutputText(t) if t.text == "hi"));
    assert_eq!(
        serde_json::to_value(&item).unwrap(),
        serde_json::from_str::<Value>(raw).unwrap()
    );
}

#[test]
fn error_inside_a_member_whose_type_came_late_names_the_full_path() {
    let raw = br#"{"id":"r","output":[{"id":"m","content":[{"annotations":[],"text":42,"type":"output_text"}],"type":"message"}]}"#;
    let err = parse::<Response>(raw).unwrap_err();
    assert_eq!(err.path(), "output[0].content[0].text", "{err}");
    assert!(
        err.message().starts_with("invalid type: integer `42`"),
        "{err}"
    );
}

#[test]
fn error_inside_an_easy_message_names_the_full_path() {
    let raw =
        br#"{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":7}]}]}"#;
    let err = parse::<CreateResponse>(raw).unwrap_err();
    assert_eq!(err.path(), "input[0].content[0].text", "{err}");
    assert!(err.message().contains("invalid type: integer `7`"), "{err}");
}

#[test]
fn unknown_member_keeps_its_keys_in_order() {
    let raw = r#"{"id":"x","type":"mcp_call","server_label":"s","nested":{"type":"message","b":1,"a":2}}"#;
    let item: OutputItem = parse_str(raw).unwrap();
    assert_eq!(item.type_name(), "mcp_call");
    assert_eq!(serde_json::to_string(&item).unwrap(), raw);
}

#[test]
fn non_string_or_absent_type_is_kept_verbatim() {
    for raw in [
        r#"{"type":5,"role":"user","content":"hi"}"#,
        r#"{"type":{"k":[true]},"id":"i"}"#,
        r#"{"type":null}"#,
        r#"{"call_id":"c","output":"x"}"#,
    ] {
        let item: InputItem = parse_str(raw).unwrap();
        assert!(matches!(item, InputItem::Unknown(_)), "{raw}: {item:?}");
        assert_eq!(serde_json::to_string(&item).unwrap(), raw);
    }
    let easy: InputItem = parse_str(r#"{"content":"hi","role":"user"}"#).unwrap();
    assert!(matches!(easy, InputItem::EasyMessage(_)));
}

#[test]
fn a_repeated_type_does_not_reach_the_variant() {
    let raw = br#"{"type":"response.output_text.delta","item_id":"m","output_index":0,"delta":"x","type":"response.output_text.delta"}"#;
    let ev: ResponseStreamEvent = parse(raw).unwrap();
    assert_eq!(ev.text_delta(), Some("x"));
    let back = serde_json::to_string(&ev).unwrap();
    assert_eq!(back.matches("\"type\"").count(), 1, "{back}");
}

#[test]
fn tool_choice_in_each_form() {
    let mode: ToolChoice = parse_str(r#""required""#).unwrap();
    assert_eq!(serde_json::to_string(&mode).unwrap(), r#""required""#);
    let late: ToolChoice = parse_str(r#"{"name":"f","type":"function"}"#).unwrap();
    assert_eq!(late, ToolChoice::function("f"));
    let hosted: ToolChoice = parse_str(r#"{"type":"web_search_preview"}"#).unwrap();
    assert!(matches!(hosted, ToolChoice::Unknown(_)));
    let err = parse_str::<ToolChoice>("5").unwrap_err();
    assert!(
        err.message().contains("a tool_choice string or object"),
        "{err}"
    );
}

/// The same document read from bytes, from a `Value`, and from a reader (which cannot lend
/// strings) gives the same value.
#[test]
fn every_deserializer_reads_the_same() {
    let raw = json!({"type":"response.completed","sequence_number":3,"response":{"id":"r","output":[
        {"content":[{"type":"output_text","text":"a","annotations":[{"type":"url_citation","url":"u"}]}],"type":"message","id":"m","role":"assistant"},
        {"type":"reasoning","id":"rs","summary":[{"type":"summary_text","text":"s"}]},
        {"type":"web_search_call","id":"ws"}],
        "tools":[{"type":"function","name":"f"},{"type":"web_search"}],"tool_choice":{"type":"allowed_tools","tools":[]},
        "text":{"format":{"strict":true,"type":"json_schema","name":"n","schema":{}}}}});
    let bytes = serde_json::to_vec(&raw).unwrap();
    let from_bytes: ResponseStreamEvent = parse(&bytes).unwrap();
    let from_value: ResponseStreamEvent = parse_value(raw.clone()).unwrap();
    let from_reader: ResponseStreamEvent = serde_json::from_reader(bytes.as_slice()).unwrap();
    assert_eq!(from_bytes, from_value);
    assert_eq!(from_bytes, from_reader);
    assert_eq!(serde_json::to_value(&from_bytes).unwrap(), raw);
}

/// Every parsed event is moved a few times on its way out; large lifecycle and error payloads
/// are boxed so that a small delta does not carry kilobytes.
#[test]
fn stream_event_stays_small_and_boxed_fields_still_move_out() {
    assert!(std::mem::size_of::<ResponseStreamEvent>() <= 512);
    let ev: ResponseStreamEvent =
        parse_str(r#"{"type":"response.completed","response":{"id":"r","output":[]}}"#).unwrap();
    let ResponseStreamEvent::Completed(e) = ev else {
        panic!("not completed: {ev:?}");
    };
    let response: Response = e.response;
    assert_eq!(response.id, "r");
}
