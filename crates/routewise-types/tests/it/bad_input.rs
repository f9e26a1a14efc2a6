//! Bad input gives a typed error naming the JSON path; never a panic or a stack overflow.

use routewise_types::{
    CreateResponse, ErrorResponse, ParseErrorKind, Response, ResponseStreamEvent, Usage, parse,
};

#[test]
fn wrong_type_at_top_level_field() {
    let err = parse::<Usage>(br#"{"input_tokens":"many","output_tokens":1,"total_tokens":1}"#)
        .unwrap_err();
    assert_eq!(err.path(), "input_tokens");
    assert_eq!(err.kind(), ParseErrorKind::Data);
    assert!(
        err.message().contains("invalid type: string \"many\""),
        "{err}"
    );
    assert!(err.line() > 0);
}

#[test]
fn wrong_type_deep_inside_tagged_unions_names_the_full_path() {
    let raw = br#"{"id":"r","output":[{"type":"reasoning","id":"rs","summary":[]},
        {"type":"message","id":"m","role":"assistant","content":[{"type":"output_text","text":42}]}]}"#;
    let err = parse::<Response>(raw).unwrap_err();
    assert_eq!(err.path(), "output[1].content[0].text");
    assert!(
        err.message().contains("invalid type: integer `42`"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("output[1].content[0].text: invalid type")
    );
}

#[test]
fn wrong_type_inside_stream_event_response() {
    let raw = br#"{"type":"response.completed","sequence_number":9,"response":{"id":"r","output":[],"usage":{"input_tokens":-1}}}"#;
    let err = parse::<ResponseStreamEvent>(raw).unwrap_err();
    assert_eq!(err.path(), "response.usage.input_tokens");
}

#[test]
fn wrong_type_in_request_input_items() {
    let raw = br#"{"model":"m","input":[{"role":"user","content":"ok"},{"type":"function_call_output","call_id":7,"output":"x"}]}"#;
    let err = parse::<CreateResponse>(raw).unwrap_err();
    assert_eq!(err.path(), "input[1].call_id");
    let err = parse::<CreateResponse>(br#"{"model":"m","input":5}"#).unwrap_err();
    assert_eq!(err.path(), "input");
    assert!(
        err.message().contains("a string or a list of input items"),
        "{err}"
    );
    let err = parse::<CreateResponse>(br#"{"model":"m","temperature":"hot"}"#).unwrap_err();
    assert_eq!(err.path(), "temperature");
}

#[test]
fn non_object_union_member_is_an_error_not_unknown() {
    let err = parse::<Response>(br#"{"id":"r","output":["text"]}"#).unwrap_err();
    assert_eq!(err.path(), "output[0]");
    assert!(err.is_data());
}

#[test]
fn truncated_json() {
    let full = br#"{"id":"resp_1","object":"response","output":[{"type":"message","id":"m","role":"assistant","content":[]}]}"#;
    for cut in 1..full.len() {
        let err = parse::<Response>(&full[..cut]).unwrap_err();
        assert!(err.is_eof() || err.is_syntax(), "cut {cut}: {err}");
    }
    let err = parse::<Response>(&full[..40]).unwrap_err();
    assert!(err.is_eof(), "{err}");
}

#[test]
fn trailing_garbage_is_rejected() {
    let err =
        parse::<Usage>(br#"{"input_tokens":1,"output_tokens":1,"total_tokens":2} x"#).unwrap_err();
    assert!(err.is_syntax());
}

#[test]
fn invalid_utf8() {
    let mut raw = br#"{"error":{"message":"bad "#.to_vec();
    raw.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    raw.extend_from_slice(br#""}}"#);
    let err = parse::<ErrorResponse>(&raw).unwrap_err();
    assert!(err.is_syntax(), "{err}");
    assert_eq!(err.path(), "error.message");
}

#[test]
fn ten_megabyte_string() {
    let big = "a".repeat(10 * 1024 * 1024);
    let raw = format!(r#"{{"model":"m","input":"{big}","unknown":"{big}"}}"#);
    let req: CreateResponse = parse(raw.as_bytes()).unwrap();
    assert!(matches!(&req.input, Some(routewise_types::Input::Text(t)) if t.len() == big.len()));
    assert_eq!(req.extra["unknown"].as_str().map(str::len), Some(big.len()));
    let err = parse::<Usage>(format!(r#"{{"input_tokens":"{big}"}}"#).as_bytes()).unwrap_err();
    assert_eq!(err.path(), "input_tokens");
    let shown = err.to_string();
    assert!(
        shown.len() < 4096,
        "the error message must not echo 10 MB: {}",
        &shown[..200]
    );
}

fn nested(depth: usize, open: &str, close: &str) -> String {
    format!("{}{}{}", open.repeat(depth), "1", close.repeat(depth))
}

#[test]
fn deeply_nested_json_in_unknown_field_is_refused_without_overflow() {
    let deep = nested(100_000, "[", "]");
    let raw = format!(r#"{{"id":"r","output":[],"extra":{deep}}}"#);
    let err = parse::<Response>(raw.as_bytes()).unwrap_err();
    assert!(err.message().contains("recursion limit"), "{err}");
    assert!(err.path().starts_with("extra[0][0]"), "{}", err.path());
}

#[test]
fn deeply_nested_json_inside_union_is_refused_without_overflow() {
    let deep = nested(50_000, r#"{"a":"#, "}");
    let raw = format!(
        r#"{{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{{"type":"x","v":{deep}}}}}"#
    );
    let err = parse::<ResponseStreamEvent>(raw.as_bytes()).unwrap_err();
    assert!(err.message().contains("recursion limit"), "{err}");
}

#[test]
fn moderately_nested_json_within_limit_round_trips() {
    let deep = nested(100, "[", "]");
    let raw = format!(r#"{{"id":"r","output":[],"extra":{deep}}}"#);
    let resp: Response = parse(raw.as_bytes()).unwrap();
    let back = serde_json::to_string(&resp).unwrap();
    assert_eq!(back, raw);
}

#[test]
fn empty_and_non_json_input() {
    assert!(parse::<Response>(b"").unwrap_err().is_eof());
    assert!(
        parse::<Response>(b"<html>502 Bad Gateway</html>")
            .unwrap_err()
            .is_syntax()
    );
    let err = parse::<Response>(b"[]").unwrap_err();
    assert!(err.is_data());
    assert!(err.message().contains("`Response` object"), "{err}");
}
