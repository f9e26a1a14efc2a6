//! Property: any events, encoded and cut into arbitrary chunks with any line-ending style,
//! decode back to themselves.

use proptest::prelude::*;
use routewise_transport::sse::{SseDecoder, SseEvent, write_event};

fn event() -> impl Strategy<Value = SseEvent> {
    let text = "[a-z\u{e9}\u{1f30d}:{}\" ]{0,12}";
    let data = prop::collection::vec(text, 1..4).prop_map(|lines| lines.join("\n"));
    (
        data,
        prop::option::of("[a-z.]{1,10}"),
        prop::option::of("[0-9a-z]{1,4}"),
    )
        .prop_map(|(data, event, id)| SseEvent {
            event,
            data,
            id,
            retry: None,
        })
}

fn decode_in_chunks(wire: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
    let mut dec = SseDecoder::new();
    let mut out = Vec::new();
    let mut start = 0;
    let mut cuts: Vec<_> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    cuts.sort_unstable();
    for end in cuts.into_iter().chain([wire.len()]) {
        dec.push(&wire[start..end.max(start)]);
        start = end.max(start);
        while let Some(ev) = dec.next_event().unwrap() {
            out.push(ev);
        }
    }
    dec.finish().unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encoded_events_survive_any_chunking(
        events in prop::collection::vec(event(), 0..6),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        ending in prop::sample::select(vec!["\n", "\r\n", "\r"]),
    ) {
        let mut wire = bytes::BytesMut::new();
        for ev in &events {
            write_event(&mut wire, ev);
        }
        let wire = String::from_utf8(wire.to_vec()).unwrap().replace('\n', ending);
        prop_assert_eq!(decode_in_chunks(wire.as_bytes(), &cuts), events);
    }
}
