use bytes::Bytes;
use futures_util::StreamExt;

use super::*;
use crate::body;

const RECORDED: &str = include_str!("../../tests/fixtures/responses_text_stream.sse");

/// Decodes `chunks` in order and returns the events, or the first error.
fn decode_chunks<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<SseEvent>, SseError> {
    let mut dec = SseDecoder::new();
    let mut out = Vec::new();
    for chunk in chunks {
        dec.push(chunk);
        while let Some(ev) = dec.next_event()? {
            out.push(ev);
        }
    }
    dec.finish()?;
    Ok(out)
}

fn decode(input: &[u8]) -> Result<Vec<SseEvent>, SseError> {
    decode_chunks([input])
}

#[test]
fn recorded_responses_stream_decodes_in_order() {
    let events = decode(RECORDED.as_bytes()).unwrap();
    let names: Vec<_> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (seq, ev) in events.iter().enumerate() {
        let name = ev.event.as_deref().unwrap();
        assert!(
            ev.data
                .starts_with(&format!("{{\"type\":\"{name}\",\"sequence_number\":{seq},"))
        );
        assert_eq!(ev.id, None);
    }
}

#[test]
fn recorded_stream_split_at_every_byte_boundary_gives_identical_events() {
    let whole = decode(RECORDED.as_bytes()).unwrap();
    let crlf = RECORDED.replace('\n', "\r\n");
    let cr = RECORDED.replace('\n', "\r");
    for input in [RECORDED, crlf.as_str(), cr.as_str()] {
        let bytes = input.as_bytes();
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            assert_eq!(decode_chunks([a, b]).unwrap(), whole, "split at {split}");
        }
    }
    let byte_by_byte = decode_chunks(RECORDED.as_bytes().chunks(1)).unwrap();
    assert_eq!(byte_by_byte, whole);
}

#[test]
fn utf8_split_inside_a_character_and_bom_split() {
    let input = "\u{feff}data: h\u{e9}llo \u{1f30d}\r\ndata: \u{4e16}\r\n\r\n";
    let expected = vec![SseEvent::new("h\u{e9}llo \u{1f30d}\n\u{4e16}")];
    let bytes = input.as_bytes();
    for split in 0..=bytes.len() {
        let (a, b) = bytes.split_at(split);
        assert_eq!(decode_chunks([a, b]).unwrap(), expected, "split at {split}");
    }
    assert_eq!(decode_chunks(bytes.chunks(1)).unwrap(), expected);
}

#[test]
fn line_endings_crlf_cr_lf_and_mixed() {
    let expected = vec![SseEvent::new("a").with_event("x"), SseEvent::new("b")];
    for input in [
        "event: x\ndata: a\n\ndata: b\n\n",
        "event: x\r\ndata: a\r\n\r\ndata: b\r\n\r\n",
        "event: x\rdata: a\r\rdata: b\r\r",
        "event: x\r\ndata: a\n\rdata: b\r\n\n",
    ] {
        assert_eq!(decode(input.as_bytes()).unwrap(), expected, "{input:?}");
    }
}

#[test]
fn multi_line_data_comments_and_field_edge_cases() {
    let input = ": keep-alive\n\
                 data: first\n\
                 : a comment inside the event\n\
                 data:second\n\
                 data\n\
                 unknown: ignored\n\
                 data:  two spaces\n\n";
    let events = decode(input.as_bytes()).unwrap();
    assert_eq!(events, vec![SseEvent::new("first\nsecond\n\n two spaces")]);
}

#[test]
fn blocks_without_data_dispatch_nothing() {
    let events = decode(b"event: ping\n\n: only a comment\n\nid: 4\n\n").unwrap();
    assert!(events.is_empty());
    assert_eq!(decode(b"data:\n\n").unwrap(), vec![SseEvent::new("")]);
}

#[test]
fn id_and_retry_fields() {
    let events =
        decode(b"id: 42\nretry: 2500\ndata: x\n\nretry: soon\nid: a\0b\ndata: y\n\n").unwrap();
    assert_eq!(events[0], SseEvent::new("x").with_id("42").with_retry(2500));
    assert_eq!(events[1], SseEvent::new("y"));
}

#[test]
fn done_sentinel_is_an_ordinary_event() {
    let events = decode(b"data: {\"a\":1}\n\ndata: [DONE]\n\n").unwrap();
    assert_eq!(events.len(), 2);
    assert!(!events[0].is_done());
    assert!(events[1].is_done());
}

#[test]
fn truncated_streams_are_typed_errors() {
    for input in [
        &b"data: x\n"[..],
        b"data: x",
        b"event: a\ndata: {\"type\":",
        b"\xEF\xBB",
    ] {
        let err = decode(input).unwrap_err();
        assert!(err.is_truncated(), "{input:?} gave {err:?}");
    }
    // Ending after a complete event, a comment line or blank lines is a clean end.
    assert_eq!(decode(b"data: x\n\n: bye\n\n\n").unwrap().len(), 1);
    assert!(decode(b"").unwrap().is_empty());
}

#[test]
fn oversized_events_fail_then_decoding_resumes() {
    let mut dec = SseDecoder::with_max_event_size(8);
    dec.push(b"data: 0123456789abcdef\n\ndata: ok\n\n");
    assert!(dec.next_event().unwrap_err().is_too_large());
    assert_eq!(dec.next_event().unwrap(), Some(SseEvent::new("ok")));

    // A huge line that never ends is caught before it is buffered whole.
    let mut dec = SseDecoder::with_max_event_size(16);
    dec.push(b"data: 0123");
    assert!(dec.next_event().unwrap().is_none());
    dec.push(b"456789ab");
    assert!(dec.next_event().unwrap_err().is_too_large());
    dec.push(b"more of the same line\n\ndata: ok\n\n");
    assert_eq!(dec.next_event().unwrap(), Some(SseEvent::new("ok")));
    dec.finish().unwrap();

    // Many small data lines add up too.
    let mut dec = SseDecoder::with_max_event_size(8);
    dec.push(b"data: 1234\ndata: 5678\n\n");
    assert!(dec.next_event().unwrap_err().is_too_large());
}

#[test]
fn encode_round_trips_through_the_decoder() {
    let events = vec![
        SseEvent::new("line one\nline two").with_event("response.output_text.delta"),
        SseEvent::new("{}").with_id("7").with_retry(100),
        SseEvent::new(""),
    ];
    let mut wire = bytes::BytesMut::new();
    for ev in &events {
        write_event(&mut wire, ev);
    }
    assert_eq!(decode(&wire).unwrap(), events);
}

fn chunked_body(chunks: Vec<Result<&'static str, &'static str>>) -> crate::ResponseBody {
    let items: Vec<Result<Bytes, std::io::Error>> = chunks
        .into_iter()
        .map(|c| {
            c.map(|s| Bytes::from_static(s.as_bytes()))
                .map_err(std::io::Error::other)
        })
        .collect();
    body::from_stream(futures_util::stream::iter(items))
}

#[tokio::test]
async fn stream_reads_past_terminal_events_to_eof() {
    let body = chunked_body(vec![
        Ok("event: response.failed\ndata: {\"type\":\"response.fa"),
        Ok("iled\"}\n\nevent: error\ndata: {\"type\":\"error\"}\n"),
        Ok("\n"),
    ]);
    let events: Vec<_> = SseStream::new(body).collect().await;
    let names: Vec<_> = events
        .iter()
        .map(|e| e.as_ref().unwrap().event.clone().unwrap())
        .collect();
    assert_eq!(names, ["response.failed", "error"]);
}

#[tokio::test]
async fn stream_reports_truncation_and_body_failures() {
    let body = chunked_body(vec![Ok("data: a\n\n"), Ok("data: {\"partial")]);
    let items: Vec<_> = SseStream::new(body).collect().await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().data, "a");
    assert!(items[1].as_ref().unwrap_err().is_truncated());

    let body = chunked_body(vec![Ok("data: a\n\n"), Err("connection reset")]);
    let items: Vec<_> = SseStream::new(body).collect().await;
    assert_eq!(items.len(), 2);
    let err = items[1].as_ref().unwrap_err();
    assert!(err.is_transport() && !err.is_timeout());
    assert!(err.as_transport().unwrap().is_body());
}
