//! The completion side of a stream: text, refusal and function-call argument deltas scanned
//! as they pass, holding back only the filter's window of trailing characters. On a hit no
//! further delta is forwarded, the upstream is dropped, and the stream ends as an output-side
//! block: for text or a refusal, its `.done`, `response.content_part.done` and
//! `response.output_item.done` (the message `incomplete`) with what was already sent; for a
//! function call, `response.output_item.done` with the call `incomplete` and no arguments (so
//! nothing half-written can be run); then `response.incomplete` with
//! `incomplete_details.reason: "content_filter"` and the `content_filters` verdict.

use std::collections::VecDeque;

use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::matcher::{Hit, Scanner};
use super::wire::{annotate, annotation, event};
use crate::config::ContentFilterConfig;
use crate::upstream::{EventStream, SseEvent};

/// What a scanned part holds: the model's text, a refusal, or a function call's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartKind {
    Text,
    Refusal,
    Arguments,
}

impl PartKind {
    fn of_delta(ty: &str) -> Option<Self> {
        match ty {
            "response.output_text.delta" => Some(Self::Text),
            "response.refusal.delta" => Some(Self::Refusal),
            "response.function_call_arguments.delta" => Some(Self::Arguments),
            _ => None,
        }
    }

    fn delta_type(self) -> &'static str {
        match self {
            Self::Text => "response.output_text.delta",
            Self::Refusal => "response.refusal.delta",
            Self::Arguments => "response.function_call_arguments.delta",
        }
    }
}

/// The part being scanned.
#[derive(Debug)]
struct Part {
    kind: PartKind,
    item_id: Value,
    output_index: Value,
    content_index: Value,
    /// What the client has received of it.
    sent: String,
}

impl Part {
    fn is(&self, map: &Map<String, Value>) -> bool {
        map.get("item_id").unwrap_or(&Value::Null) == &self.item_id
            && map.get("output_index").unwrap_or(&Value::Null) == &self.output_index
            && map.get("content_index").unwrap_or(&Value::Null) == &self.content_index
    }
}

/// Per-stream filtering state.
#[derive(Debug)]
pub(crate) struct Stage {
    filter: ContentFilterConfig,
    scanner: Scanner,
    part: Option<Part>,
    /// Output items finished so far, for the final response of a blocked stream.
    items: Vec<Value>,
    /// The response object of `response.created`, the base of that final response.
    base: Option<Map<String, Value>>,
    /// The `output_index` and item of the last `response.output_item.added`: a blocked
    /// function call is closed as that call (its `call_id` and `name`), marked incomplete.
    added: Option<(Value, Value)>,
    /// The next `sequence_number` to send: held-back deltas and inserted events shift the
    /// upstream's numbering, and strict clients want it gap-free and increasing.
    seq: Option<u64>,
    ended: bool,
}

impl Stage {
    pub(crate) fn new(filter: ContentFilterConfig) -> Self {
        Self {
            filter,
            scanner: Scanner::default(),
            part: None,
            items: Vec::new(),
            base: None,
            added: None,
            seq: None,
            ended: false,
        }
    }

    /// Handles one upstream event, pushing what the client gets to `out`.
    pub(crate) fn on_event(&mut self, ev: SseEvent, out: &mut Vec<SseEvent>) {
        if self.ended {
            return;
        }
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&ev.data) else {
            out.push(ev);
            return;
        };
        if let Some(kind) = PartKind::of_delta(&ev.ty) {
            return self.delta(kind, map, out);
        }
        // Events that carry whole texts are scanned as well as the deltas before them: a
        // server may send a text only whole, or whole text that its deltas did not hold.
        // Text the deltas already passed is clean, so this blocks nothing it should not.
        match ev.ty.as_str() {
            "response.output_item.added" => {
                if self.blocks_whole(&ev.ty, &map, out) {
                    return;
                }
                self.added = map.get("item").map(|item| {
                    (
                        map.get("output_index").cloned().unwrap_or_default(),
                        item.clone(),
                    )
                });
                self.emit(ev, map, false, out);
            }
            "response.output_text.done"
            | "response.refusal.done"
            | "response.function_call_arguments.done"
            | "response.content_part.added"
            | "response.content_part.done" => {
                if self.part.as_ref().is_some_and(|p| p.is(&map)) && self.close_part(out) {
                    return;
                }
                if self.blocks_whole(&ev.ty, &map, out) {
                    return;
                }
                self.emit(ev, map, false, out);
            }
            "response.output_item.done" => {
                if self.close_part(out) || self.blocks_whole(&ev.ty, &map, out) {
                    return;
                }
                if let Some(item) = map.get("item") {
                    self.items.push(item.clone());
                }
                self.emit(ev, map, false, out);
            }
            "response.created" | "response.in_progress" => {
                if self.base.is_none() {
                    self.base = map.get("response").and_then(Value::as_object).cloned();
                }
                self.emit(ev, map, false, out);
            }
            "response.completed" | "response.incomplete" => {
                if self.close_part(out) || self.blocks_whole(&ev.ty, &map, out) {
                    return;
                }
                let mut map = map;
                if let Some(Value::Object(response)) = map.get_mut("response") {
                    annotate(response, self.verdict(&[]));
                }
                self.emit(ev, map, true, out);
            }
            _ => self.emit(ev, map, false, out),
        }
    }

    /// The upstream ended without a terminal event: release or block what is held back.
    pub(crate) fn on_end(&mut self, out: &mut Vec<SseEvent>) {
        if !self.ended {
            self.close_part(out);
        }
        self.ended = true;
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// Scans the whole texts an event carries; on a hit blocks and returns true. The
    /// blocked part is closed with nothing of it sent, except at the response's end, where
    /// no item is open and only `response.incomplete` follows.
    fn blocks_whole(
        &mut self,
        ty: &str,
        map: &Map<String, Value>,
        out: &mut Vec<SseEvent>,
    ) -> bool {
        let mut lists = Vec::new();
        let mut kind = PartKind::Text;
        {
            let matcher = self.filter.matcher();
            let mut check = |t: &str| matcher.collect_hits(t, &mut lists);
            match ty {
                "response.output_item.added" | "response.output_item.done" => {
                    let item = map.get("item").unwrap_or(&Value::Null);
                    super::completion::for_each_text(item, &mut check);
                    if item.get("type").and_then(Value::as_str) == Some("function_call") {
                        kind = PartKind::Arguments;
                    }
                }
                "response.content_part.added" | "response.content_part.done" => {
                    let part = map.get("part").unwrap_or(&Value::Null);
                    match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => part.get("text"),
                        Some("refusal") => {
                            kind = PartKind::Refusal;
                            part.get("refusal")
                        }
                        _ => None,
                    }
                    .and_then(Value::as_str)
                    .map(&mut check);
                }
                "response.completed" | "response.incomplete" => {
                    let output = map.get("response").and_then(|r| r.get("output"));
                    for item in output.and_then(Value::as_array).into_iter().flatten() {
                        super::completion::for_each_text(item, &mut check);
                    }
                }
                _ => {
                    let field = match ty {
                        "response.refusal.done" => {
                            kind = PartKind::Refusal;
                            "refusal"
                        }
                        "response.function_call_arguments.done" => {
                            kind = PartKind::Arguments;
                            "arguments"
                        }
                        _ => "text",
                    };
                    map.get(field).and_then(Value::as_str).map(&mut check);
                }
            }
        }
        if lists.is_empty() {
            return false;
        }
        let closes_a_part = !matches!(ty, "response.completed" | "response.incomplete");
        if closes_a_part {
            let id = map
                .get("item_id")
                .or_else(|| map.get("item").and_then(|i| i.get("id")))
                .cloned()
                .unwrap_or(Value::Null);
            self.part = Some(Part {
                kind,
                item_id: id,
                output_index: map.get("output_index").cloned().unwrap_or(Value::Null),
                content_index: map.get("content_index").cloned().unwrap_or(json!(0)),
                sent: String::new(),
            });
        }
        self.block_with(Hit { lists }, closes_a_part, out);
        true
    }

    fn delta(&mut self, kind: PartKind, mut map: Map<String, Value>, out: &mut Vec<SseEvent>) {
        if self
            .part
            .as_ref()
            .is_some_and(|p| p.kind != kind || !p.is(&map))
            && self.close_part(out)
        {
            return;
        }
        let part = self.part.get_or_insert_with(|| Part {
            kind,
            item_id: map.get("item_id").cloned().unwrap_or(Value::Null),
            output_index: map.get("output_index").cloned().unwrap_or(Value::Null),
            content_index: map.get("content_index").cloned().unwrap_or(Value::Null),
            sent: String::new(),
        });
        let text = map.get("delta").and_then(Value::as_str).unwrap_or_default();
        match self.scanner.push(self.filter.matcher(), text) {
            Ok(released) => {
                if released.is_empty() {
                    return;
                }
                part.sent.push_str(released);
                let released = released.to_owned();
                map.insert("delta".into(), Value::String(released));
                self.emit_map(kind.delta_type(), map, out);
            }
            Err(hit) => self.block(hit, out),
        }
    }

    /// Ends the current text part: releases the held-back text (as one more delta) or, on a
    /// hit, blocks. True when the stream was blocked.
    fn close_part(&mut self, out: &mut Vec<SseEvent>) -> bool {
        let Some(part) = self.part.as_mut() else {
            return false;
        };
        match self.scanner.finish(self.filter.matcher()) {
            Ok("") => {}
            Ok(rest) => {
                part.sent.push_str(rest);
                let ty = part.kind.delta_type();
                let mut delta = json!({
                    "type": ty,
                    "sequence_number": 0,
                    "item_id": part.item_id,
                    "output_index": part.output_index,
                    "delta": rest,
                });
                if part.kind == PartKind::Text {
                    delta["logprobs"] = json!([]);
                }
                if part.kind != PartKind::Arguments {
                    delta["content_index"] = part.content_index.clone();
                }
                if let Value::Object(map) = delta {
                    self.emit_map(ty, map, out);
                }
            }
            Err(hit) => {
                self.block(hit, out);
                return true;
            }
        }
        self.part = None;
        self.scanner = Scanner::default();
        false
    }

    /// Stops the stream: closes the current part with the text already sent and ends with
    /// `response.incomplete`.
    fn block(&mut self, hit: Hit, out: &mut Vec<SseEvent>) {
        self.block_with(hit, true, out);
    }

    /// [`Self::block`], closing the open part first only when `close` (at the response's
    /// end no part is open).
    fn block_with(&mut self, hit: Hit, close: bool, out: &mut Vec<SseEvent>) {
        let names: Vec<&str> = hit
            .lists
            .iter()
            .map(|&i| self.filter.matcher().list_name(i))
            .collect();
        tracing::info!(
            filter = self.filter.name(),
            blocklists = ?names,
            source = "completion",
            "stream stopped by a content filter"
        );
        let verdict = self.verdict(&names);
        if close {
            let part = self.part.take().unwrap_or(Part {
                kind: PartKind::Text,
                item_id: Value::Null,
                output_index: Value::Null,
                content_index: Value::Null,
                sent: String::new(),
            });
            let item = self.close_blocked(&part, out);
            self.items.push(item);
        }
        let mut response = self.base.take().unwrap_or_default();
        response.insert("object".into(), json!("response"));
        response.insert("status".into(), json!("incomplete"));
        response.insert(
            "incomplete_details".into(),
            json!({"reason": "content_filter"}),
        );
        response.insert(
            "output".into(),
            Value::Array(std::mem::take(&mut self.items)),
        );
        response.remove("output_text");
        annotate(&mut response, verdict);
        self.synthetic("response.incomplete", json!({"response": response}), out);
        self.ended = true;
    }

    /// The closing events of the part a hit stopped; returns its item as the final response
    /// lists it.
    fn close_blocked(&mut self, part: &Part, out: &mut Vec<SseEvent>) -> Value {
        let (id, at, index) = (&part.item_id, &part.output_index, &part.content_index);
        if part.kind == PartKind::Arguments {
            // The call is known by its id, or by its place when a server leaves ids out.
            let mut item = match self.added.take() {
                Some((index, Value::Object(added)))
                    if (!id.is_null() && added.get("id") == Some(id))
                        || (!at.is_null() && &index == at) =>
                {
                    added
                }
                _ => Map::new(),
            };
            if !id.is_null() {
                item.insert("id".into(), id.clone());
            }
            item.insert("type".into(), json!("function_call"));
            item.insert("status".into(), json!("incomplete"));
            item.insert("arguments".into(), json!(""));
            let item = Value::Object(item);
            let done = json!({"output_index": at, "item": item});
            self.synthetic("response.output_item.done", done, out);
            return item;
        }
        let (done_type, done, content) = if part.kind == PartKind::Refusal {
            let content = json!({"type": "refusal", "refusal": part.sent});
            let done = json!({"item_id": id, "output_index": at, "content_index": index, "refusal": part.sent});
            ("response.refusal.done", done, content)
        } else {
            let content = json!({"type": "output_text", "text": part.sent, "annotations": [], "logprobs": []});
            let done = json!({"item_id": id, "output_index": at, "content_index": index, "text": part.sent, "logprobs": []});
            ("response.output_text.done", done, content)
        };
        let item = json!({"id": id, "type": "message", "status": "incomplete", "role": "assistant", "content": [content]});
        let closing = [
            (done_type, done),
            (
                "response.content_part.done",
                json!({"item_id": id, "output_index": at, "content_index": index, "part": content}),
            ),
            (
                "response.output_item.done",
                json!({"output_index": at, "item": item}),
            ),
        ];
        for (ty, payload) in closing {
            self.synthetic(ty, payload, out);
        }
        item
    }

    /// The `content_filters` entries for the final response.
    fn verdict(&self, hits: &[&str]) -> Vec<Value> {
        let scope = self.filter.scope();
        let mut entries = Vec::with_capacity(2);
        if scope.checks_prompt() {
            entries.push(annotation("prompt", &[]));
        }
        if scope.checks_completion() {
            entries.push(annotation("completion", hits));
        }
        entries
    }

    fn synthetic(&mut self, ty: &str, payload: Value, out: &mut Vec<SseEvent>) {
        let mut map = Map::with_capacity(8);
        map.insert("type".into(), json!(ty));
        map.insert("sequence_number".into(), json!(0));
        if let Value::Object(fields) = payload {
            map.extend(fields);
        }
        self.emit_map(ty, map, out);
    }

    /// Sends `map` numbered in sequence; the original bytes go out when nothing changed.
    fn emit(
        &mut self,
        ev: SseEvent,
        map: Map<String, Value>,
        changed: bool,
        out: &mut Vec<SseEvent>,
    ) {
        let own = map.get("sequence_number").and_then(Value::as_u64);
        let next = *self.seq.get_or_insert(own.unwrap_or(0));
        if !changed && own.is_none_or(|n| n == next) {
            if own.is_some() {
                self.seq = Some(next + 1);
            }
            out.push(ev);
            return;
        }
        self.emit_map(&ev.ty, map, out);
    }

    fn emit_map(&mut self, ty: &str, mut map: Map<String, Value>, out: &mut Vec<SseEvent>) {
        if let Some(slot) = map.get_mut("sequence_number") {
            let next = *self.seq.get_or_insert(slot.as_u64().unwrap_or(0));
            *slot = json!(next);
            self.seq = Some(next + 1);
        }
        out.push(event(ty, Value::Object(map)));
    }
}

/// `head` filtered now, `rest` filtered as it streams; `None` when the head already ended it.
pub(crate) fn wrap(
    mut stage: Stage,
    head: Vec<SseEvent>,
    rest: EventStream,
) -> (Vec<SseEvent>, Option<EventStream>) {
    let mut out = Vec::with_capacity(head.len());
    for ev in head {
        stage.on_event(ev, &mut out);
    }
    if stage.ended() {
        return (out, None);
    }
    let events = futures_util::stream::unfold(
        (rest, stage, VecDeque::new()),
        |(mut rest, mut stage, mut queue)| async move {
            loop {
                if let Some(ev) = queue.pop_front() {
                    return Some((Ok(ev), (rest, stage, queue)));
                }
                if stage.ended() {
                    // Dropping `rest` here would need the state; returning `None` ends the
                    // body, which drops the upstream.
                    return None;
                }
                let mut out = Vec::new();
                match rest.next().await {
                    Some(Ok(ev)) => stage.on_event(ev, &mut out),
                    Some(Err(failure)) => {
                        stage.ended = true;
                        return Some((Err(failure), (rest, stage, queue)));
                    }
                    None => stage.on_end(&mut out),
                }
                queue.extend(out);
            }
        },
    );
    (out, Some(Box::pin(events)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Blocklist, FilterScope};

    fn ev(ty: &str, seq: u64, extra: Value) -> SseEvent {
        let mut map = Map::new();
        map.insert("type".into(), json!(ty));
        map.insert("sequence_number".into(), json!(seq));
        if let Value::Object(fields) = extra {
            map.extend(fields);
        }
        event(ty, Value::Object(map))
    }

    fn delta(seq: u64, text: &str) -> SseEvent {
        ev(
            "response.output_text.delta",
            seq,
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": text, "logprobs": []}),
        )
    }

    /// A plain text stream of `deltas`, numbered from 0.
    fn upstream(deltas: &[&str]) -> Vec<SseEvent> {
        let text: String = deltas.concat();
        let response = json!({"id": "resp_1", "object": "response", "status": "in_progress", "output": [], "usage": null, "content_filters": null});
        let mut events = vec![
            ev("response.created", 0, json!({"response": response})),
            ev(
                "response.output_item.added",
                1,
                json!({"output_index": 0, "item": {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
            ),
        ];
        for d in deltas {
            events.push(delta(events.len() as u64, d));
        }
        let n = events.len() as u64;
        let item = json!({"id": "msg_1", "type": "message", "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": text}]});
        events.push(ev(
            "response.output_text.done",
            n,
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": text}),
        ));
        finish(&mut events, &response, item);
        events
    }

    /// The upstream's closing events after the last delta: the item done, then the response
    /// completed with it.
    fn finish(events: &mut Vec<SseEvent>, response: &Value, item: Value) {
        let n = events.len() as u64;
        let mut done = response.clone();
        done["status"] = json!("completed");
        done["output"] = json!([item]);
        done["content_filters"] = json!([]);
        events.push(ev(
            "response.output_item.done",
            n,
            json!({"output_index": 0, "item": item}),
        ));
        events.push(ev("response.completed", n + 1, json!({"response": done})));
    }

    fn run(deltas: &[&str]) -> Vec<(String, Value)> {
        run_events(upstream(deltas))
    }

    fn streamed(events: &[(String, Value)]) -> String {
        events
            .iter()
            .filter(|(t, _)| t == "response.output_text.delta")
            .map(|(_, v)| v["delta"].as_str().unwrap().to_owned())
            .collect()
    }

    fn numbered_in_order(events: &[(String, Value)]) {
        let seqs: Vec<u64> = events
            .iter()
            .map(|(_, v)| v["sequence_number"].as_u64().unwrap())
            .collect();
        let expected: Vec<u64> = (0..seqs.len() as u64).collect();
        assert_eq!(seqs, expected);
    }

    /// A stream whose only output is a function call with these argument `deltas`.
    fn call_upstream(deltas: &[&str]) -> Vec<SseEvent> {
        let args: String = deltas.concat();
        let response =
            json!({"id": "resp_1", "object": "response", "status": "in_progress", "output": []});
        let added = json!({"id": "fc_1", "type": "function_call", "status": "in_progress", "call_id": "call_1", "name": "lookup", "arguments": ""});
        let mut events = vec![
            ev("response.created", 0, json!({"response": response})),
            ev(
                "response.output_item.added",
                1,
                json!({"output_index": 0, "item": added}),
            ),
        ];
        for d in deltas {
            let n = events.len() as u64;
            events.push(ev(
                "response.function_call_arguments.delta",
                n,
                json!({"item_id": "fc_1", "output_index": 0, "delta": d}),
            ));
        }
        let n = events.len() as u64;
        let mut item = added.clone();
        item["status"] = json!("completed");
        item["arguments"] = json!(args);
        events.push(ev(
            "response.function_call_arguments.done",
            n,
            json!({"item_id": "fc_1", "output_index": 0, "arguments": args}),
        ));
        finish(&mut events, &response, item);
        events
    }

    fn run_events(events: Vec<SseEvent>) -> Vec<(String, Value)> {
        let filter = ContentFilterConfig::new(
            "f",
            FilterScope::Both,
            vec![Blocklist::new("words").with_term("forbidden")],
        )
        .unwrap();
        let mut stage = Stage::new(filter);
        let mut out = Vec::new();
        for e in events {
            stage.on_event(e, &mut out);
        }
        stage.on_end(&mut out);
        out.iter()
            .map(|e| (e.ty.clone(), serde_json::from_slice(&e.data).unwrap()))
            .collect()
    }

    #[test]
    fn function_call_arguments_are_scanned_and_a_blocked_call_is_closed_without_them() {
        let clean = run_events(call_upstream(&["{\"q\": \"we", "ather\"}"]));
        let args: String = clean
            .iter()
            .filter(|(t, _)| t == "response.function_call_arguments.delta")
            .map(|(_, v)| v["delta"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(args, "{\"q\": \"weather\"}");
        numbered_in_order(&clean);
        assert_eq!(clean.last().unwrap().0, "response.completed");

        let blocked = run_events(call_upstream(&["{\"q\": \"for", "bidden plans\"}"]));
        let sent: String = blocked
            .iter()
            .filter(|(t, _)| t == "response.function_call_arguments.delta")
            .map(|(_, v)| v["delta"].as_str().unwrap().to_owned())
            .collect();
        assert!(!sent.contains("forb"), "{sent}");
        numbered_in_order(&blocked);
        let types: Vec<&str> = blocked.iter().map(|(t, _)| t.as_str()).collect();
        assert!(
            !types.contains(&"response.function_call_arguments.done"),
            "{types:?}"
        );
        assert_eq!(
            &types[types.len() - 2..],
            ["response.output_item.done", "response.incomplete"]
        );
        let response = &blocked.last().unwrap().1["response"];
        assert_eq!(response["incomplete_details"]["reason"], "content_filter");
        let call = &response["output"][0];
        assert_eq!(call["type"], "function_call");
        assert_eq!(call["status"], "incomplete");
        assert_eq!(call["arguments"], "");
        assert_eq!(call["call_id"], "call_1");
        assert_eq!(call["name"], "lookup");
    }

    /// Some servers send an item whole, in its `.done` events, with no delta: it is scanned
    /// there, and blocked before any of it reaches the client.
    #[test]
    fn text_and_calls_sent_without_deltas_are_scanned_whole() {
        let patch = |events: &mut Vec<SseEvent>, types: &[&str], from: &str, to: &str| {
            for e in events.iter_mut() {
                if types.contains(&e.ty.as_str()) {
                    let patched = String::from_utf8(e.data.to_vec())
                        .unwrap()
                        .replace(from, to);
                    e.data = patched.into();
                }
            }
        };
        // No deltas: the text only in `output_text.done` and the finished item.
        let mut text = upstream(&[]);
        let done = ["response.output_text.done", "response.output_item.done"];
        patch(
            &mut text,
            &done,
            r#""text":"""#,
            r#""text":"a forbidden thing""#,
        );
        let out = run_events(text);
        let types: Vec<&str> = out.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types.last(), Some(&"response.incomplete"), "{types:?}");
        assert!(
            !out.iter().any(|(_, v)| v.to_string().contains("forbidden")),
            "{out:?}"
        );

        // A call whose arguments come only in its finished item.
        let mut calls = call_upstream(&[]);
        calls.retain(|e| e.ty != "response.function_call_arguments.done");
        let args = r#""arguments":"{\"q\":\"forbidden\"}""#;
        patch(
            &mut calls,
            &["response.output_item.done"],
            r#""arguments":"""#,
            args,
        );
        let out = run_events(calls);
        assert!(
            !out.iter().any(|(_, v)| v.to_string().contains("forbidden")),
            "{out:?}"
        );
        let response = &out.last().unwrap().1["response"];
        assert_eq!(response["status"], "incomplete");
        assert_eq!(response["output"][0]["call_id"], "call_1");
        assert_eq!(response["output"][0]["arguments"], "");
    }

    /// A text that arrives only in `content_part.done`, and a second part of an item whose
    /// first part was streamed, are scanned too: nothing of either reaches the client.
    #[test]
    fn whole_parts_are_scanned_wherever_they_come() {
        let response =
            json!({"id": "resp_1", "object": "response", "status": "in_progress", "output": []});
        let msg = json!({"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []});
        let start = || {
            vec![
                ev("response.created", 0, json!({"response": response})),
                ev(
                    "response.output_item.added",
                    1,
                    json!({"output_index": 0, "item": msg}),
                ),
            ]
        };
        let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
        let mut only_part = start();
        only_part.push(ev(
            "response.content_part.added",
            2,
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "part": part("")}),
        ));
        only_part.push(ev(
            "response.content_part.done",
            3,
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "part": part("a forbidden thing")}),
        ));
        let mut second_part = start();
        second_part.push(delta(2, "hello"));
        second_part.push(ev(
            "response.output_text.done",
            3,
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": "hello"}),
        ));
        second_part.push(ev(
            "response.refusal.done",
            4,
            json!({"item_id": "msg_1", "output_index": 0, "content_index": 1, "refusal": "forbidden"}),
        ));
        for events in [only_part, second_part] {
            let out = run_events(events);
            assert!(
                !out.iter().any(|(_, v)| v.to_string().contains("forbidden")),
                "{out:?}"
            );
            assert_eq!(out.last().unwrap().0, "response.incomplete", "{out:?}");
            numbered_in_order(&out);
        }
    }

    #[test]
    fn a_refusal_is_scanned_like_text() {
        let mut events = upstream(&[]);
        let refusal = |seq: u64, d: &str| {
            ev(
                "response.refusal.delta",
                seq,
                json!({"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": d}),
            )
        };
        events.splice(
            2..2,
            [
                refusal(2, "I won't discuss for"),
                refusal(3, "bidden things"),
            ],
        );
        let out = run_events(events);
        let sent: String = out
            .iter()
            .filter(|(t, _)| t == "response.refusal.delta")
            .map(|(_, v)| v["delta"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            !sent.contains("forb") && "I won't discuss ".starts_with(&sent),
            "{sent}"
        );
        let types: Vec<&str> = out.iter().map(|(t, _)| t.as_str()).collect();
        assert!(types.contains(&"response.refusal.done"), "{types:?}");
        let response = &out.last().unwrap().1["response"];
        assert_eq!(response["status"], "incomplete");
        assert_eq!(response["output"][0]["content"][0]["type"], "refusal");
    }

    #[test]
    fn a_clean_stream_arrives_whole_renumbered_and_annotated() {
        let deltas = ["Hel", "lo, a per", "mitted ans", "wer."];
        let events = run(&deltas);
        assert_eq!(streamed(&events), deltas.concat());
        numbered_in_order(&events);
        let (last, data) = events.last().unwrap();
        assert_eq!(last, "response.completed");
        let filters = data["response"]["content_filters"].as_array().unwrap();
        assert_eq!(filters.len(), 2);
        assert!(filters.iter().all(|f| f["blocked"] == false));
        // The held-back tail arrives before the text's `done`.
        let done = events
            .iter()
            .position(|(t, _)| t == "response.output_text.done")
            .unwrap();
        assert_eq!(events[done - 1].0, "response.output_text.delta");
    }

    #[test]
    fn a_term_split_across_deltas_stops_the_stream() {
        let events = run(&["It is for", "bidden", " to say more.", " Much more."]);
        let text = streamed(&events);
        assert!(!text.to_lowercase().contains("forb"), "{text}");
        assert!("It is forbidden to say more.".starts_with(&text));
        numbered_in_order(&events);
        let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            &types[types.len() - 4..],
            [
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.incomplete"
            ]
        );
        let (_, done) = &events[types.len() - 4];
        assert_eq!(done["text"], text);
        let (_, last) = events.last().unwrap();
        let response = &last["response"];
        assert_eq!(response["status"], "incomplete");
        assert_eq!(response["incomplete_details"]["reason"], "content_filter");
        assert_eq!(response["output"][0]["status"], "incomplete");
        assert_eq!(response["output"][0]["content"][0]["text"], text);
        let filters = response["content_filters"].as_array().unwrap();
        assert_eq!(filters[1]["blocked"], true);
        assert_eq!(filters[1]["source_type"], "completion");
        assert_eq!(
            filters[1]["content_filter_results"]["custom_blocklists"]["details"][0]["id"],
            "words"
        );
    }

    #[test]
    fn a_term_in_the_last_delta_is_caught_when_the_text_ends() {
        let events = run(&["Nothing to see; ", "forbidden"]);
        // Everything before the term went out; the term never did.
        assert_eq!(streamed(&events), "Nothing to see; ");
        assert_eq!(events.last().unwrap().0, "response.incomplete");
        assert!(!events.iter().any(|(t, _)| t == "response.completed"));
    }
}
