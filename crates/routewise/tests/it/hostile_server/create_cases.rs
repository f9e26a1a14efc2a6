//! Cases for `responses().create`: fixed ones whose outcome is unambiguous, then seeded random
//! damage to real response and error bodies under every interesting status and content type.

use std::time::Duration;

use bytes::Bytes;
use routewise::ErrorKind;
use routewise_testkit::Script;
use routewise_testkit::fixtures::{self, ResponseFixture};
use serde_json::Value;

use super::mutate::{self, Rng};
use super::{Call, Case, Expect, expect_for};

/// Random cases: about a second of calls in a debug build, most of the suite's variety.
const RANDOM_CASES: usize = 1000;

const STATUSES: &[u16] = &[
    200, 200, 200, 201, 400, 401, 403, 404, 408, 422, 429, 500, 503,
];

const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/json"),
    Some("application/json; charset=utf-16"),
    Some("text/html"),
    Some("text/event-stream"),
    None,
];

/// A body sent in one chunk with `status` and `content_type`.
fn answer(status: u16, content_type: Option<&str>, body: impl Into<Bytes>) -> Script {
    let script = Script::status(status);
    let script = match content_type {
        Some(ct) => script.header("content-type", ct),
        None => script,
    };
    script.frame(body)
}

fn json(status: u16, body: impl Into<Bytes>) -> Script {
    answer(status, Some("application/json"), body)
}

fn create(name: &str, script: Script, expect: Expect) -> Case {
    Case::new(format!("create {name}"), Call::Create, script, expect)
}

/// Real bodies to damage: a full response, a small one, and Azure/OpenAI error bodies.
fn bases() -> Vec<Value> {
    let small = ResponseFixture::new("resp_small", "gpt-4.1-nano")
        .text("Hello!")
        .usage(3, 2)
        .to_json();
    let mut bases = vec![
        serde_json::from_str(fixtures::RESPONSE_JSON).expect("fixture"),
        small,
    ];
    for body in [
        fixtures::UNAUTHORIZED_BODY,
        fixtures::RATE_LIMIT_BODY,
        fixtures::CONTENT_FILTER_ERROR_BODY,
        fixtures::SERVER_ERROR_BODY,
        fixtures::DEPLOYMENT_NOT_FOUND_BODY,
    ] {
        bases.push(serde_json::from_str(body).expect("fixture"));
    }
    bases
}

pub(super) fn all(seed: u64) -> Vec<Case> {
    let mut cases = fixed();
    cases.extend(headers());
    let bases = bases();
    let mut rng = Rng::new(seed);
    for i in 0..RANDOM_CASES {
        let status = *rng.pick(STATUSES);
        let content_type = *rng.pick(CONTENT_TYPES);
        // Error bodies stay under the client's 64 KiB limit (past it, only the start is kept; see `regressions`); a
        // success body may be huge.
        let huge = status == 200;
        let mut value = rng.pick(&bases).clone();
        let (damage_json, damage_bytes) = match rng.below(4) {
            0 => (true, false),
            1 => (false, true),
            _ => (true, true),
        };
        let mut labels = Vec::new();
        if damage_json {
            labels.push(mutate::json(&mut rng, &mut value, huge));
        }
        let mut body = serde_json::to_vec(&value).expect("serialise");
        if damage_bytes {
            labels.push(mutate::bytes(&mut rng, &mut body));
        }
        let label = labels.join(", then ");
        let expect = expect_for(status, &body);
        let name = format!("#{i} {status} {content_type:?} {label}");
        cases.push(create(&name, answer(status, content_type, body), expect));
    }
    cases
}

/// Answers whose outcome is not open to interpretation.
fn fixed() -> Vec<Case> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let decode: Expect = Expect::Error(|e| e.kind() == ErrorKind::Decode);
    let mut cases = vec![
        create(
            "a valid response",
            json(200, fixtures::RESPONSE_JSON),
            Expect::Success,
        ),
        create("an empty 200", json(200, ""), decode.clone()),
        create("a 200 that is not JSON", json(200, "OK"), decode.clone()),
        create(
            "a 200 of HTML",
            json(200, fixtures::HTML_502_PAGE),
            decode.clone(),
        ),
        create("a 200 of JSON null", json(200, "null"), decode.clone()),
        create("a 200 of a JSON array", json(200, "[]"), decode.clone()),
        create("100k nested arrays", json(200, deep), decode.clone()),
        create(
            "a 200 of invalid UTF-8",
            json(200, &b"{\"id\":\"\xff\xfe\"}"[..]),
            decode.clone(),
        ),
        create(
            "a valid response with a BOM",
            json(200, format!("\u{feff}{}", fixtures::RESPONSE_JSON)),
            Expect::Any,
        ),
        create(
            "a 200 past the 64 MiB body limit",
            json(200, Bytes::new()).frame(vec![b' '; 65 << 20]),
            Expect::Error(|e| e.kind() == ErrorKind::Transport),
        ),
        create(
            "a 401 with the Azure body",
            json(401, fixtures::UNAUTHORIZED_BODY),
            Expect::Error(|e| {
                e.is_auth() && e.kind() == ErrorKind::Authentication && !e.is_retryable()
            }),
        ),
        create(
            "a 401 whose error has the wrong shape",
            json(
                401,
                r#"{"error":{"message":["no"],"code":{"a":1},"param":7}}"#,
            ),
            Expect::Error(|e| e.is_auth() && e.code().is_none() && e.param().is_none()),
        ),
        create(
            "a 404 for a missing deployment",
            json(404, fixtures::DEPLOYMENT_NOT_FOUND_BODY),
            Expect::Error(|e| e.is_not_found() && e.code() == Some("DeploymentNotFound")),
        ),
        create(
            "a 429",
            json(429, fixtures::RATE_LIMIT_BODY).header("retry-after", "1"),
            Expect::Error(|e| {
                e.is_rate_limited()
                    && e.is_retryable()
                    && e.meta().retry_after == Some(Duration::from_secs(1))
            }),
        ),
        create(
            "a content-filter 400",
            json(400, fixtures::CONTENT_FILTER_ERROR_BODY),
            Expect::Error(|e| e.is_content_filtered() && !e.is_retryable()),
        ),
        create(
            "a 500 in the OpenAI shape",
            json(500, fixtures::SERVER_ERROR_BODY),
            Expect::Error(|e| e.kind() == ErrorKind::InternalServer && e.is_retryable()),
        ),
        create(
            "an HTML 503",
            answer(503, Some("text/html"), fixtures::HTML_502_PAGE),
            Expect::Error(|e| e.body_snippet().is_some_and(|s| s.contains("<html"))),
        ),
        create(
            "a 400 whose code is a number",
            json(400, r#"{"error":{"message":"m","code":400}}"#),
            Expect::Error(|e| e.code() == Some("400") && e.message() == "m"),
        ),
        create(
            "a 200 whose body stalls half-way",
            json(200, &fixtures::RESPONSE_JSON[..200]).stall(),
            Expect::Error(|e| e.is_timeout()),
        ),
        create(
            "a 200 whose connection drops half-way",
            json(200, &fixtures::RESPONSE_JSON[..200]).drop_connection(),
            Expect::Error(|e| e.kind() == ErrorKind::Transport),
        ),
        create(
            "a 500 whose body stalls",
            json(500, "{\"error\":").stall(),
            Expect::Error(|e| e.kind() == ErrorKind::InternalServer),
        ),
        create(
            "a 200 whose content-length promises more",
            json(200, fixtures::RESPONSE_JSON).header("content-length", "99999"),
            Expect::KindIn(&[ErrorKind::Transport, ErrorKind::Timeout]),
        ),
        create(
            "headers, then nothing",
            Script::status(200).stall(),
            Expect::Error(|e| e.is_timeout()),
        ),
    ];
    for (status, body) in [
        (400, r#"{"error":null}"#),
        (400, r#"{"error":5,"message":"flat"}"#),
        (401, r#"{"error":"a string"}"#),
        (403, r#"{"error":[{"message":"in an array"}]}"#),
        (404, r#"{"error":{"innererror":"x","message":""}}"#),
        (
            429,
            r#"{"error":{"message":"m","innererror":{"content_filter_result":"no"}}}"#,
        ),
        (500, r#"{"message":null,"code":{}}"#),
        (503, "\u{0}\u{1}binary\u{7f}"),
        (503, " \n\t "),
        (599, fixtures::RESPONSE_JSON),
    ] {
        let name = format!("a {status} with the wrong error shape {body:?}");
        cases.push(create(
            &name,
            json(status, body),
            expect_for(status, body.as_bytes()),
        ));
    }
    // Statuses outside the API's vocabulary: whatever they mean, they end.
    for status in [101, 204, 205, 304, 399] {
        let name = format!("a {status} with a response body");
        cases.push(create(
            &name,
            json(status, fixtures::RESPONSE_JSON),
            Expect::Any,
        ));
    }
    cases
}

/// Header values the client parses on every answer: delays, counts, verdicts.
fn headers() -> Vec<Case> {
    let values = [
        ("retry-after", "-1"),
        ("retry-after", "NaN"),
        ("retry-after", "inf"),
        ("retry-after", "1e400"),
        ("retry-after", "18446744073709551616"),
        ("retry-after", "Wed, 99 Foo 2025 25:61:61 GMT"),
        ("retry-after-ms", "-0.0"),
        ("retry-after-ms", "1e400"),
        ("x-ms-retry-after-ms", "NaN"),
        ("x-ratelimit-remaining-requests", "-1"),
        ("x-ratelimit-remaining-tokens", "99999999999999999999999"),
        ("x-ratelimit-reset-requests", "99999999999999999999h"),
        ("x-ratelimit-reset-tokens", "1e400s"),
        ("x-ratelimit-reset-tokens", "-5m"),
        ("x-should-retry", "maybe"),
        ("x-request-id", ""),
        ("x-ms-region", "Zürich"),
    ];
    values
        .into_iter()
        .flat_map(|(name, value)| {
            [429, 200].map(|status| {
                let body = if status == 200 {
                    fixtures::RESPONSE_JSON
                } else {
                    fixtures::RATE_LIMIT_BODY
                };
                let expect = match status {
                    200 => Expect::Success,
                    _ => Expect::Error(|e| e.is_rate_limited()),
                };
                let case = format!("{status} with {name}: {value:?}");
                create(&case, json(status, body).header(name, value), expect)
            })
        })
        .collect()
}
