//! Absent, `null` and present fields each serialise back as received; setting a field wins.

use routewise_types::{Response, ResponseStreamEvent, Usage, parse_str};
use serde_json::{Value, json};

#[test]
fn explicit_null_is_kept_and_a_set_value_wins() {
    let mut resp: Response = parse_str(r#"{"id":"r","output":[],"temperature":null}"#).unwrap();
    assert_eq!(resp.temperature, None);
    assert_eq!(
        serde_json::to_value(&resp).unwrap(),
        json!({"id":"r","output":[],"temperature":null})
    );
    resp.temperature = Some(0.5);
    assert_eq!(
        serde_json::to_value(&resp).unwrap(),
        json!({"id":"r","output":[],"temperature":0.5})
    );
}

#[test]
fn absent_optional_field_stays_absent() {
    let resp: Response = parse_str(r#"{"id":"r","output":[]}"#).unwrap();
    let back = serde_json::to_value(&resp).unwrap();
    assert_eq!(back.as_object().unwrap().len(), 2);
}

#[test]
fn missing_required_field_stays_missing_until_set() {
    let mut resp: Response = parse_str(r#"{"id":"r","status":"queued"}"#).unwrap();
    assert!(!resp.missing.is_empty());
    assert_eq!(
        serde_json::to_value(&resp).unwrap(),
        json!({"id":"r","status":"queued"})
    );
    resp = resp.with_output_text("msg_1", "hi");
    assert_eq!(
        serde_json::to_value(&resp).unwrap()["output"][0]["content"][0]["text"],
        "hi"
    );
    let built = Response::default();
    assert!(built.missing.is_empty());
    assert_eq!(
        serde_json::to_value(&built).unwrap(),
        json!({"id":"","output":[]})
    );
}

#[test]
fn null_for_a_required_field_is_kept() {
    let usage: Usage =
        parse_str(r#"{"input_tokens":null,"output_tokens":3,"total_tokens":3}"#).unwrap();
    assert_eq!(usage.input_tokens, 0);
    assert_eq!(
        serde_json::to_value(&usage).unwrap(),
        json!({"input_tokens":null,"output_tokens":3,"total_tokens":3})
    );
}

#[test]
fn unknown_fields_survive_at_every_level() {
    let raw = json!({"type":"response.output_item.done","sequence_number":8,"output_index":0,"future":1,
        "item":{"type":"message","id":"m","role":"assistant","content":[
            {"type":"output_text","text":"x","annotations":[{"type":"url_citation","url":"u","new":true}],"z":[1]},
            {"type":"hologram","depth":3}],"phase2":"x"}});
    let ev: ResponseStreamEvent = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(serde_json::to_value(&ev).unwrap(), raw);
    let back: Value = serde_json::to_value(ev).unwrap();
    assert_eq!(back["item"]["content"][1]["type"], "hologram");
}
