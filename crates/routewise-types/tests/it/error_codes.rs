//! Error codes as servers send them: strings or numbers, kept in the form they arrived; and
//! which error shapes are content-filter blocks.

use routewise_types::{ApiError, ErrorResponse, Response, ResponseStreamEvent, parse_str};
use serde_json::Value;

/// Parses `raw` as `T` and checks that it serialises back to the very same JSON (a number stays
/// a number, a string stays a string).
fn exact_round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(raw: &str) -> T {
    let typed: T = parse_str(raw).unwrap_or_else(|e| panic!("parse failed: {e}\n{raw}"));
    let original: Value = serde_json::from_str(raw).expect("fixture is JSON");
    assert_eq!(serde_json::to_value(&typed).expect("serialises"), original);
    typed
}

#[test]
fn numeric_codes_parse_and_serialise_back_as_numbers() {
    let flat: ResponseStreamEvent = exact_round_trip(
        r#"{"type":"error","sequence_number":3,"code":429,"message":"slow down","param":null}"#,
    );
    let code = flat.error().and_then(|e| e.code()).expect("flat code");
    assert_eq!(code.as_str(), "429");
    assert_eq!(code.to_string(), "429");

    let nested: ResponseStreamEvent = exact_round_trip(
        r#"{"type":"error","sequence_number":4,"error":{"message":"busy","code":503}}"#,
    );
    assert_eq!(
        nested.error().and_then(|e| e.code()).map(|c| c.as_str()),
        Some("503")
    );

    let failed: Response = exact_round_trip(
        r#"{"id":"r","status":"failed","output":[],"error":{"code":-1.5,"message":"odd"}}"#,
    );
    let code = failed
        .error
        .and_then(|e| e.code)
        .expect("response error code");
    assert_eq!(code.as_str(), "-1.5");

    let body: ErrorResponse = exact_round_trip(r#"{"error":{"message":"m","code":401}}"#);
    assert_eq!(
        body.error.code.map(|c| c.as_str().to_owned()).as_deref(),
        Some("401")
    );
}

#[test]
fn string_codes_stay_strings_even_when_they_look_like_numbers() {
    let body: ErrorResponse = exact_round_trip(r#"{"error":{"message":"m","code":"429"}}"#);
    assert_eq!(body.error.code.as_ref().map(|c| c.as_str()), Some("429"));
    let known: ErrorResponse =
        exact_round_trip(r#"{"error":{"message":"m","code":"rate_limit_exceeded"}}"#);
    assert_eq!(
        known.error.code.as_ref().map(|c| c.as_str()),
        Some("rate_limit_exceeded")
    );
}

#[test]
fn codes_of_other_json_types_are_still_rejected_with_their_path() {
    let err = parse_str::<ErrorResponse>(r#"{"error":{"message":"m","code":{"x":1}}}"#)
        .expect_err("an object is not a code");
    assert_eq!(err.path(), "error.code");
}

fn api_error(raw: &str) -> ApiError {
    parse_str::<ErrorResponse>(raw).expect("error body").error
}

#[test]
fn content_filter_shapes() {
    let blocks = [
        // Outer filter codes.
        r#"{"error":{"message":"m","code":"content_filter"}}"#,
        r#"{"error":{"message":"m","code":"content_policy_violation"}}"#,
        // Azure's inner code, under either spelling of `innererror`.
        r#"{"error":{"message":"m","code":"BadRequest","innererror":{"code":"ResponsibleAIPolicyViolation"}}}"#,
        r#"{"error":{"message":"m","inner_error":{"code":"ResponsibleAIPolicyViolation"}}}"#,
        // Filter results, under either spelling, whatever the codes say.
        r#"{"error":{"message":"m","innererror":{"content_filter_result":{"hate":{"filtered":true}}}}}"#,
        r#"{"error":{"message":"m","innererror":{"code":"Other","content_filter_results":{}}}}"#,
    ];
    for raw in blocks {
        assert!(api_error(raw).is_content_filter(), "{raw}");
    }
    let not_blocks = [
        r#"{"error":{"message":"m","code":"ServiceUnavailable","innererror":{"code":"ServerOverloaded"}}}"#,
        r#"{"error":{"message":"m","code":"server_error","innererror":{}}}"#,
        r#"{"error":{"message":"m","code":429}}"#,
        r#"{"error":{"message":"m"}}"#,
    ];
    for raw in not_blocks {
        assert!(!api_error(raw).is_content_filter(), "{raw}");
    }
}
