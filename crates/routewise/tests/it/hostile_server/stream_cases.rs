//! Cases for `responses().stream`: seeded random damage to real event streams (frames dropped,
//! repeated, swapped, cut, merged, garbage inserted, JSON retyped, bytes corrupted, random
//! chunk boundaries), then fixed cases for what a stream must tolerate and what it must refuse.

use std::time::Duration;

use bytes::Bytes;
use routewise::ErrorKind;
use routewise_testkit::Script;
use routewise_testkit::fixtures::{self, ResponseFixture, split_frames, sse_body};
use serde_json::Value;

use super::mutate::{self, Rng};
use super::{Call, Case, Expect, expect_for};

const RANDOM_CASES: usize = 1000;

/// What a 200 stream may fail with: never a status kind, never `Route` or `InvalidInput`.
const STREAM_KINDS: &[ErrorKind] = &[
    ErrorKind::StreamFailed,
    ErrorKind::StreamProtocol,
    ErrorKind::Decode,
    ErrorKind::Timeout,
    ErrorKind::Transport,
];

/// Frames a hostile server might slip in anywhere.
const GARBAGE: &[&str] = &[
    "data: not json\n\n",
    "data: {\"type\":5}\n\n",
    "data: {}\n\n",
    "data: null\n\n",
    "data: {\"type\":\"response.brand_new\",\"sequence_number\":1000000}\n\n",
    "data: {\"type\":\"response.output_text.delta\",\"delta\":null}\n\n",
    "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":-1,\"delta\":\"x\"}\n\n",
    "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"output_index\":18446744073709551615,\"content_index\":18446744073709551615,\"delta\":\"x\"}\n\n",
    "data: {\"type\":\"response.output_item.added\",\"output_index\":4294967296,\"item\":{\"type\":\"message\",\"content\":[]}}\n\n",
    "data: {\"type\":\"response.completed\"}\n\n",
    "data: {\"type\":\"response.completed\",\"response\":null}\n\n",
    "data: {\"type\":\"error\"}\n\n",
    "data: {\"type\":\"error\",\"error\":\"just a string\"}\n\n",
    "data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":7,\"message\":[]}}}\n\n",
    "data: {\"error\":{\"message\":\"an untyped error\"}}\n\n",
    ": keep-alive\n\n",
    "event: response.completed\n\n",
    "retry: 99999999999999999999999\nid: \u{0}\nevent: \u{1}\n\n",
    "data:\n\n",
    "\n\n\n\n",
    "data: [DONE]\n\n",
    "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":18446744073709551615,\"delta\":\"x\"}\n\n",
];

fn stream(name: &str, script: Script, expect: Expect) -> Case {
    Case::new(format!("stream {name}"), Call::Stream, script, expect)
}

/// A 200 event stream sent in one chunk.
fn sse(body: impl Into<Bytes>) -> Script {
    Script::sse().frame(body)
}

/// An event stream cut into one to eight chunks at random bytes (inside a frame, a line, a
/// UTF-8 character or a `\r\n`), so every decoder boundary gets its turn.
fn chunked(rng: &mut Rng, status: u16, body: Vec<u8>) -> Script {
    let mut cuts: Vec<usize> = (0..rng.below(8))
        .map(|_| rng.below(body.len() + 1))
        .collect();
    cuts.sort_unstable();
    let body = Bytes::from(body);
    let mut script = Script::status(status).header("content-type", "text/event-stream");
    let mut from = 0;
    for cut in cuts.into_iter().chain([body.len()]) {
        script = script.frame(body.slice(from..cut));
        from = cut;
    }
    script
}

/// Recorded streams, finishing and failing, and a built one with non-ASCII text to cut into.
fn bases() -> Vec<String> {
    let fixture = ResponseFixture::new("resp_fx", "gpt-4.1-nano")
        .text("Bonjour, ça va? 🦀")
        .function_call("call_1", "get_weather", r#"{"city":"Zürich"}"#)
        .usage(4, 9);
    vec![
        fixtures::HELLO_STREAM.to_owned(),
        fixtures::FUNCTION_CALL_STREAM.to_owned(),
        fixtures::IN_BAND_FAILURE_STREAM.to_owned(),
        fixtures::CONTENT_FILTERED_STREAM.to_owned(),
        fixtures::ERROR_THEN_FAILED_STREAM.to_owned(),
        fixture.sse(),
    ]
}

/// Damages the frame list once; returns a label of what was done.
fn damage_frames(rng: &mut Rng, frames: &mut Vec<String>) -> String {
    let i = rng.below(frames.len());
    match rng.below(8) {
        0 => {
            frames.remove(i);
            format!("drop frame {i}")
        }
        1 => {
            frames.insert(i, frames[i].clone());
            format!("repeat frame {i}")
        }
        2 => {
            let j = rng.below(frames.len());
            frames.swap(i, j);
            format!("swap frames {i} and {j}")
        }
        3 => {
            frames.truncate(i);
            format!("end after {i} frames")
        }
        4 => {
            let garbage = rng.pick(GARBAGE);
            frames.insert(i, (*garbage).to_owned());
            format!("insert {garbage:?} at {i}")
        }
        5 => {
            // Within a UTF-8 character is the byte chunking's job; a `String` cuts between them.
            let mut cut = rng.below(frames[i].len().max(1));
            while !frames[i].is_char_boundary(cut) {
                cut -= 1;
            }
            frames.truncate(i + 1);
            frames[i].truncate(cut);
            format!("cut frame {i} at byte {cut}")
        }
        6 => {
            frames[i].pop();
            format!("no blank line after frame {i}")
        }
        _ => retype(rng, &mut frames[i]),
    }
}

/// Re-renders a frame with one node of its JSON damaged.
fn retype(rng: &mut Rng, frame: &mut String) -> String {
    let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) else {
        return "no data to retype".to_owned();
    };
    let Ok(mut value) = serde_json::from_str::<Value>(data) else {
        return "no JSON to retype".to_owned();
    };
    let huge = rng.below(8) == 0;
    let label = mutate::json(rng, &mut value, huge);
    *frame = sse_body([value]);
    label
}

pub(super) fn all(seed: u64) -> Vec<Case> {
    let mut cases = tolerated();
    cases.extend(refused());
    cases.extend(wrong_answers());
    let bases = bases();
    let mut rng = Rng::new(seed ^ 0x55e);
    for i in 0..RANDOM_CASES {
        let base = rng.pick(&bases);
        let mut frames: Vec<String> = split_frames(base).into_iter().map(str::to_owned).collect();
        let mut labels = Vec::new();
        for _ in 0..1 + rng.below(3) {
            if frames.is_empty() {
                break;
            }
            labels.push(damage_frames(&mut rng, &mut frames));
        }
        let mut body = frames.concat().into_bytes();
        if rng.below(4) == 0 {
            labels.push(mutate::bytes(&mut rng, &mut body));
        }
        // Now and then the damaged stream comes with a failure status, as from a proxy.
        let status = match rng.below(10) {
            0 => *rng.pick(&[400, 401, 404, 429, 500, 503]),
            _ => 200,
        };
        let expect = match status {
            200 => Expect::OkOrKindIn(STREAM_KINDS),
            _ => expect_for(status, &body),
        };
        let name = format!("#{i} {status} {}", labels.join(", "));
        let script = chunked(&mut rng, status, body);
        cases.push(stream(&name, script, expect));
    }
    cases
}

/// The HELLO stream with every frame passed through `f`.
fn hello_with(f: impl Fn(&str) -> String) -> String {
    split_frames(fixtures::HELLO_STREAM)
        .into_iter()
        .map(f)
        .collect()
}

/// Liberties a well-formed stream may take: they must not cost the answer.
fn tolerated() -> Vec<Case> {
    let hello = fixtures::HELLO_STREAM;
    let frames = split_frames(hello);
    let one_byte_chunks = hello
        .as_bytes()
        .iter()
        .fold(Script::sse(), |s, b| s.frame(vec![*b]));
    let big_delta = frames[4].replace("\"Hel\"", &format!("\"{}\"", "x".repeat(1 << 20)));
    let unknown = "data: {\"type\":\"response.tool_progress\",\"x\":[1,{\"y\":null}]}\n\n";
    [
        ("as recorded", sse(hello)),
        ("CR line endings", sse(hello.replace('\n', "\r"))),
        ("CRLF line endings", sse(hello.replace('\n', "\r\n"))),
        ("one byte per chunk", one_byte_chunks),
        ("with a BOM", sse(format!("\u{feff}{hello}"))),
        (
            "with comments between frames",
            sse(hello_with(|f| format!(": ping\n\n{f}:\n"))),
        ),
        (
            "without event lines",
            sse(hello_with(|f| {
                f.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n\n"
            })),
        ),
        (
            "with JSON split over two data lines",
            sse(hello.replace(",\"sequence_number\"", ",\ndata: \"sequence_number\"")),
        ),
        (
            "with id and retry fields",
            sse(hello_with(|f| format!("id: 7\nretry: 10\n{f}"))),
        ),
        (
            "with [DONE] at the end",
            sse(format!("{hello}data: [DONE]\n\n")),
        ),
        (
            "with an unknown event after the first delta",
            sse([&frames[..5].concat(), unknown, &frames[5..].concat()].concat()),
        ),
        (
            "with a 1 MiB delta",
            sse([frames[..4].concat(), big_delta, frames[5..].concat()].concat()),
        ),
        (
            "that stays open after completing",
            Script::from_sse_body(hello).stall(),
        ),
        (
            "of a fixture with text and a function call",
            sse(ResponseFixture::new("resp_2", "m")
                .text("a")
                .function_call("c", "f", "{}")
                .sse()),
        ),
    ]
    .into_iter()
    .map(|(name, script)| stream(name, script, Expect::Success))
    .collect()
}

/// Streams that must end in a specific error.
fn refused() -> Vec<Case> {
    let hello = split_frames(fixtures::HELLO_STREAM);
    let protocol: Expect = Expect::Error(|e| e.kind() == ErrorKind::StreamProtocol);
    let timeout: Expect = Expect::Error(|e| e.is_timeout());
    let broken: Expect = Expect::KindIn(&[ErrorKind::Transport, ErrorKind::StreamProtocol]);
    let pings = (0..30).fold(Script::sse(), |s, _| {
        s.frame_after(Duration::from_millis(100), ": ping\n\n")
    });
    let half_completed = &hello[9][..hello[9].len() / 2];
    vec![
        stream("empty", sse(""), protocol.clone()),
        stream(
            "ending before its terminal event",
            sse(hello[..6].concat()),
            protocol.clone(),
        ),
        stream(
            "whose terminal event is cut",
            sse([&hello[..9].concat(), half_completed].concat()),
            protocol.clone(),
        ),
        stream(
            "with [DONE] after the first delta",
            sse([&hello[..5].concat(), "data: [DONE]\n\n"].concat()),
            protocol.clone(),
        ),
        stream(
            "with a frame repeated",
            sse([&hello[..6].concat(), hello[5], &hello[6..].concat()].concat()),
            protocol.clone(),
        ),
        stream(
            "with a 33 MiB line",
            sse([&hello[..5].concat(), "data: ", &"x".repeat(33 << 20)].concat()),
            // Past the decoder's limit; on a loaded machine the line may also take longer than
            // the idle timeout to arrive, which bounds the time between complete events.
            Expect::KindIn(&[ErrorKind::StreamProtocol, ErrorKind::Timeout]),
        ),
        stream(
            "with a line that is not JSON",
            sse([
                &hello[..5].concat(),
                "data: {not json\n\n",
                &hello[5..].concat(),
            ]
            .concat()),
            Expect::Error(|e| e.kind() == ErrorKind::Decode),
        ),
        stream(
            "failing in-band",
            Script::in_band_failure(),
            Expect::Error(|e| {
                e.is_stream_failure() && e.message() == "The model failed to generate a response."
            }),
        ),
        stream(
            "blocked by the content filter",
            Script::content_filtered(),
            Expect::Error(|e| e.is_stream_failure() && e.is_content_filtered()),
        ),
        stream(
            "of a flat error frame",
            sse(fixtures::FLAT_ERROR_FRAME),
            Expect::Error(|e| {
                e.code() == Some("rate_limit_exceeded") && e.message() == "Rate limit reached."
            }),
        ),
        stream(
            "failing the OpenAI way",
            sse(fixtures::ERROR_THEN_FAILED_STREAM),
            Expect::Error(|e| e.is_stream_failure() && e.message().starts_with("An error")),
        ),
        stream(
            "failing, then staying open",
            Script::from_sse_body(fixtures::IN_BAND_FAILURE_STREAM).stall_after_frames(3),
            Expect::Error(|e| e.is_stream_failure() && e.message().contains("failed to")),
        ),
        stream(
            "stalling after its headers",
            Script::sse().stall(),
            timeout.clone(),
        ),
        stream(
            "stalling after its preamble",
            Script::from_sse_body(fixtures::HELLO_STREAM).stall_after_frames(2),
            timeout.clone(),
        ),
        stream(
            "stalling after a delta",
            Script::from_sse_body(fixtures::HELLO_STREAM).stall_after_frames(5),
            timeout.clone(),
        ),
        stream("sending only keep-alive comments", pings, timeout),
        stream(
            "cut mid-frame after content",
            Script::from_sse_body(fixtures::HELLO_STREAM).drop_mid_frame(6),
            broken.clone(),
        ),
        stream(
            "cut after its preamble",
            Script::from_sse_body(fixtures::HELLO_STREAM).drop_after_frames(2),
            broken,
        ),
    ]
}

/// Answers that are not a 200 event stream at all.
fn wrong_answers() -> Vec<Case> {
    let json = |status: u16, body: &'static str| {
        Script::status(status)
            .header("content-type", "application/json")
            .frame(body)
    };
    let mut cases = vec![
        stream(
            "answered by a 401",
            json(401, fixtures::UNAUTHORIZED_BODY),
            Expect::Error(|e| e.is_auth() && e.message().starts_with("Access denied")),
        ),
        stream(
            "answered by a content-filter 400",
            json(400, fixtures::CONTENT_FILTER_ERROR_BODY),
            Expect::Error(|e| e.is_content_filtered() && !e.is_retryable()),
        ),
        stream(
            "answered by a 429 event stream",
            Script::status(429)
                .header("content-type", "text/event-stream")
                .frame(fixtures::FLAT_ERROR_FRAME),
            Expect::Error(|e| e.is_rate_limited() && e.body_snippet().is_some()),
        ),
        stream(
            "answered by a 200 HTML page",
            Script::status(200)
                .header("content-type", "text/html")
                .frame(fixtures::HTML_502_PAGE),
            Expect::KindIn(STREAM_KINDS),
        ),
        // Replayed as the events that would have carried it (`routewise_types::replay`).
        stream(
            "answered by a 200 JSON response",
            json(200, fixtures::RESPONSE_JSON),
            Expect::Success,
        ),
    ];
    for (status, body) in [
        (500, fixtures::SERVER_ERROR_BODY),
        (503, fixtures::HTML_502_PAGE),
        (404, "{\"error\":{\"message\":7}}"),
        (429, ""),
    ] {
        let name = format!("answered by a {status} with {body:?}");
        cases.push(stream(
            &name,
            json(status, body),
            expect_for(status, body.as_bytes()),
        ));
    }
    cases
}
