//! Builds the final `Response` from a stream of events.

use std::ops::Range;

use routewise_types::{OutputContent, OutputItem, OutputText, Response, ResponseStreamEvent};

/// Folds stream events into a [`Response`].
///
/// The terminal `response.completed|incomplete` event carries the whole response, and that is
/// what [`finish`](Self::finish) returns. Output is also rebuilt from the item and delta events,
/// so a server (or gateway) that sends an abbreviated terminal response with an empty `output`
/// still yields the text the caller saw streaming.
///
/// Memory stays close to one copy of the output: streamed text is kept once (in
/// [`text`](Self::text); rebuilt text parts point into it), lifecycle events keep only their
/// identity, status and usage, and [`push_owned`](Self::push_owned) moves the terminal response
/// in instead of copying it.
///
/// ```
/// use routewise::StreamAccumulator;
/// use routewise_types::{Response, ResponseStreamEvent, OutputItem, OutputMessage};
///
/// let mut acc = StreamAccumulator::new();
/// acc.push(&ResponseStreamEvent::created(0, Response::new("resp_1", "gpt-4.1-nano")));
/// acc.push(&ResponseStreamEvent::output_item_added(1, 0, OutputItem::Message(OutputMessage::default())));
/// acc.push(&ResponseStreamEvent::output_text_delta(2, "msg_1", 0, 0, "Hel"));
/// acc.push(&ResponseStreamEvent::output_text_delta(3, "msg_1", 0, 0, "lo"));
/// assert_eq!(acc.text(), "Hello");
/// acc.push_owned(ResponseStreamEvent::completed(4, Response::new("resp_1", "gpt-4.1-nano")));
/// let response = acc.finish().unwrap();
/// assert_eq!(response.output_text(), "Hello");
/// assert_eq!(response.model.as_deref(), Some("gpt-4.1-nano"));
/// ```
#[derive(Debug, Default, Clone)]
pub struct StreamAccumulator {
    // Boxed: a `Response` is about 2.7 KB, and the accumulator lives in every `ResponseStream`
    // and in every future that holds one.
    lifecycle: Option<Box<Response>>,
    output: Vec<OutputItem>,
    terminal: Option<Box<Response>>,
    text: String,
    spans: Vec<TextSpan>,
    events: usize,
    /// Content parts created to fill gaps so far, against [`MAX_INDEX`] for the whole stream:
    /// the per-index clamp alone would let 4,096 items of 4,096 parts each through.
    filled_parts: usize,
}

/// Where one text part's deltas sit in the accumulator's `text`; the part itself stays empty
/// until [`StreamAccumulator::finish`] needs it.
#[derive(Debug, Clone)]
struct TextSpan {
    output: usize,
    content: usize,
    /// Usually one range: deltas of a part arrive back to back.
    ranges: Vec<Range<usize>>,
}

impl StreamAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one event the caller keeps. Only a terminal event's response is copied.
    pub fn push(&mut self, event: &ResponseStreamEvent) {
        match event {
            ResponseStreamEvent::Completed(e) | ResponseStreamEvent::Incomplete(e) => {
                self.events += 1;
                self.terminal = Some(Box::new(e.response.clone()));
            }
            _ => self.fold(event),
        }
    }

    /// Folds in one event the caller gives away: a terminal response is moved, not copied.
    pub fn push_owned(&mut self, event: ResponseStreamEvent) {
        match event {
            ResponseStreamEvent::Completed(e) | ResponseStreamEvent::Incomplete(e) => {
                self.events += 1;
                self.terminal = Some(Box::new(e.response));
            }
            other => self.fold(&other),
        }
    }

    fn fold(&mut self, event: &ResponseStreamEvent) {
        self.events += 1;
        match event {
            ResponseStreamEvent::Created(e)
            | ResponseStreamEvent::InProgress(e)
            | ResponseStreamEvent::Queued(e) => {
                self.lifecycle = Some(Box::new(identity(&e.response)));
            }
            ResponseStreamEvent::OutputItemAdded(e) | ResponseStreamEvent::OutputItemDone(e) => {
                let at = index(e.output_index);
                let mut item = e.item.clone();
                // Text already held in `text` is not kept a second time.
                if let OutputItem::Message(m) = &mut item {
                    for (content, part) in m.content.iter_mut().enumerate() {
                        if let OutputContent::OutputText(t) = part
                            && self.span_matches(at, content, &t.text)
                        {
                            t.text = String::new();
                        }
                    }
                }
                *self.slot(at) = item;
            }
            ResponseStreamEvent::ContentPartAdded(e) => {
                if let Some(OutputItem::Message(m)) = self.output.get_mut(index(e.output_index)) {
                    let at = index(e.content_index);
                    if grow(&mut m.content, at, &mut self.filled_parts) {
                        m.content[at] = e.part.clone();
                    }
                }
            }
            ResponseStreamEvent::OutputTextDelta(e) => {
                let start = self.text.len();
                self.text.push_str(&e.delta);
                let (output, content) =
                    (index(e.output_index), index(e.content_index.unwrap_or(0)));
                if self.text_part(output, content).is_some() {
                    self.record(output, content, start..self.text.len());
                }
            }
            ResponseStreamEvent::OutputTextDone(e) => {
                let (output, content) =
                    (index(e.output_index), index(e.content_index.unwrap_or(0)));
                if self.span_matches(output, content, &e.text) {
                    return;
                }
                // The final text differs from the deltas: it wins, the span is dropped.
                self.spans
                    .retain(|s| (s.output, s.content) != (output, content));
                if let Some(t) = self.text_part(output, content) {
                    t.text.clone_from(&e.text);
                }
            }
            ResponseStreamEvent::FunctionCallArgumentsDelta(e) => {
                if let Some(OutputItem::FunctionCall(call)) =
                    self.output.get_mut(index(e.output_index))
                {
                    call.arguments.push_str(&e.delta);
                }
            }
            ResponseStreamEvent::FunctionCallArgumentsDone(e) => {
                if let Some(OutputItem::FunctionCall(call)) =
                    self.output.get_mut(index(e.output_index))
                {
                    call.arguments.clone_from(&e.arguments);
                }
            }
            _ => {}
        }
    }

    /// The output text streamed so far (all `response.output_text.delta` increments).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many events were folded in.
    pub fn event_count(&self) -> usize {
        self.events
    }

    /// The latest response snapshot: the terminal response if it arrived, else the identity of
    /// the last lifecycle event (`id`, `object`, `created_at`, `status`, `model`, `usage`; its
    /// echo of the request is not kept).
    pub fn snapshot(&self) -> Option<&Response> {
        self.terminal.as_deref().or(self.lifecycle.as_deref())
    }

    /// True once `response.completed` or `response.incomplete` was seen.
    pub fn is_complete(&self) -> bool {
        self.terminal.is_some()
    }

    /// The final response, if a terminal event arrived. An empty terminal `output` is filled
    /// from the items rebuilt out of the stream.
    pub fn finish(mut self) -> Option<Response> {
        let mut response = *self.terminal.take()?;
        if response.output.is_empty() && !self.output.is_empty() {
            self.materialise();
            response.output = self.output;
        }
        Some(response)
    }

    /// Copies each span's text into its (still empty) text part.
    fn materialise(&mut self) {
        let spans = std::mem::take(&mut self.spans);
        let text = std::mem::take(&mut self.text);
        for span in spans {
            if let Some(t) = self.text_part(span.output, span.content)
                && t.text.is_empty()
            {
                for range in span.ranges {
                    t.text.push_str(&text[range]);
                }
            }
        }
    }

    fn record(&mut self, output: usize, content: usize, range: Range<usize>) {
        match self
            .spans
            .iter_mut()
            .rev()
            .find(|s| s.output == output && s.content == content)
        {
            Some(span) => match span.ranges.last_mut() {
                Some(last) if last.end == range.start => last.end = range.end,
                _ => span.ranges.push(range),
            },
            None => self.spans.push(TextSpan {
                output,
                content,
                ranges: vec![range],
            }),
        }
    }

    /// True when the deltas recorded for a part spell exactly `text`.
    fn span_matches(&self, output: usize, content: usize, text: &str) -> bool {
        let Some(span) = self
            .spans
            .iter()
            .rev()
            .find(|s| s.output == output && s.content == content)
        else {
            return false;
        };
        let mut rest = text;
        for range in &span.ranges {
            match rest.strip_prefix(&self.text[range.clone()]) {
                Some(tail) => rest = tail,
                None => return false,
            }
        }
        rest.is_empty()
    }

    fn slot(&mut self, at: usize) -> &mut OutputItem {
        if self.output.len() <= at {
            self.output
                .resize_with(at + 1, || OutputItem::Unknown(serde_json::Value::Null));
        }
        &mut self.output[at]
    }

    /// The text part a delta belongs to, created if `content_part.added` was skipped.
    fn text_part(&mut self, output: usize, content: usize) -> Option<&mut OutputText> {
        let OutputItem::Message(m) = self.output.get_mut(output)? else {
            return None;
        };
        if !grow(&mut m.content, content, &mut self.filled_parts) {
            return None;
        }
        match &mut m.content[content] {
            OutputContent::OutputText(t) => Some(t),
            _ => None,
        }
    }
}

/// Makes `content[at]` exist, filling any gap with empty text parts, unless that would take the
/// stream's filled parts past [`MAX_INDEX`]; then the part is not kept (its text still is, in
/// the accumulator's `text`).
fn grow(content: &mut Vec<OutputContent>, at: usize, filled: &mut usize) -> bool {
    if at < content.len() {
        return true;
    }
    let new = at + 1 - content.len();
    if filled.saturating_add(new) > MAX_INDEX {
        return false;
    }
    *filled += new;
    content.resize_with(at + 1, || OutputContent::OutputText(OutputText::new("")));
    true
}

/// What a lifecycle event's response is kept for: who and where it is, not the echoed request.
fn identity(response: &Response) -> Response {
    Response {
        id: response.id.clone(),
        object: response.object.clone(),
        created_at: response.created_at.clone(),
        status: response.status.clone(),
        model: response.model.clone(),
        usage: response.usage.clone(),
        ..Response::default()
    }
}

/// Wire indices are `u64`; anything beyond memory is clamped so a hostile index cannot allocate.
fn index(i: u64) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX).min(MAX_INDEX)
}

/// No real response has this many output items or content parts.
const MAX_INDEX: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;
    use routewise_testkit::fixtures::{self, parse_sse_data};

    fn events(body: &str) -> Vec<ResponseStreamEvent> {
        parse_sse_data(body)
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect()
    }

    #[test]
    fn function_call_arguments_are_rebuilt() {
        let mut acc = StreamAccumulator::new();
        let mut abbreviated = StreamAccumulator::new();
        for event in events(fixtures::FUNCTION_CALL_STREAM) {
            acc.push(&event);
            // The same stream with a terminal response whose output was left out.
            let event = match event {
                ResponseStreamEvent::Completed(mut e) => {
                    e.response.output.clear();
                    ResponseStreamEvent::Completed(e)
                }
                other => other,
            };
            abbreviated.push(&event);
        }
        assert!(acc.is_complete());
        assert_eq!(acc.event_count(), 8);
        for response in [acc.finish().unwrap(), abbreviated.finish().unwrap()] {
            let calls = response.function_calls();
            assert_eq!(calls.len(), 1);
            assert_eq!(calls[0].arguments, r#"{"location":"Paris"}"#);
            assert_eq!(calls[0].name, "get_weather");
        }
    }

    #[test]
    fn text_is_rebuilt_when_the_terminal_output_is_empty() {
        let mut acc = StreamAccumulator::new();
        for event in events(fixtures::HELLO_STREAM) {
            let event = match event {
                ResponseStreamEvent::Completed(mut e) => {
                    e.response.output.clear();
                    ResponseStreamEvent::Completed(e)
                }
                other => other,
            };
            acc.push(&event);
        }
        assert_eq!(acc.text(), "Hello!");
        assert_eq!(
            acc.snapshot()
                .unwrap()
                .usage
                .as_ref()
                .unwrap()
                .output_tokens,
            3
        );
        assert_eq!(acc.finish().unwrap().output_text(), "Hello!");
    }

    #[test]
    fn no_terminal_event_no_response_and_hostile_indices_are_bounded() {
        let mut acc = StreamAccumulator::new();
        acc.push(&ResponseStreamEvent::output_item_added(
            0,
            u64::MAX,
            OutputItem::Unknown(serde_json::json!({})),
        ));
        acc.push(&ResponseStreamEvent::output_text_delta(
            1,
            "msg",
            u64::MAX,
            u64::MAX,
            "x",
        ));
        assert!(acc.snapshot().is_none());
        assert!(!acc.is_complete());
        assert!(acc.finish().is_none());
    }

    #[test]
    fn text_is_kept_once_and_lifecycle_events_keep_only_their_identity() {
        let mut acc = StreamAccumulator::new();
        for mut event in events(fixtures::HELLO_STREAM) {
            if let ResponseStreamEvent::Created(e) = &mut event {
                e.response.instructions = Some(routewise_types::Input::Text(
                    "a long echoed prompt".repeat(100),
                ));
            }
            match event {
                ResponseStreamEvent::Completed(_) => acc.push_owned(event),
                other => acc.push(&other),
            }
        }
        assert_eq!(acc.text(), "Hello!");
        // The rebuilt message points into `text` instead of holding a second copy.
        let Some(OutputItem::Message(m)) = acc.output.first() else {
            panic!("the message was rebuilt");
        };
        assert!(
            matches!(&m.content[0], OutputContent::OutputText(t) if t.text.is_empty()),
            "{m:?}"
        );
        let response = acc.finish().unwrap();
        assert_eq!(response.output_text(), "Hello!");

        let mut started = StreamAccumulator::new();
        let created = events(fixtures::HELLO_STREAM).remove(0);
        let ResponseStreamEvent::Created(mut e) = created else {
            panic!("first event is response.created");
        };
        e.response.instructions = Some(routewise_types::Input::Text("echo".into()));
        started.push(&ResponseStreamEvent::Created(e));
        let snapshot = started.snapshot().unwrap();
        assert_eq!(snapshot.id, "resp_1");
        assert!(snapshot.instructions.is_none(), "the echo is not kept");
    }

    #[test]
    fn a_done_text_that_differs_from_the_deltas_wins() {
        let mut acc = StreamAccumulator::new();
        for event in events(fixtures::HELLO_STREAM) {
            let event = match event {
                ResponseStreamEvent::OutputTextDone(mut e) => {
                    e.text = "Hello, corrected!".into();
                    ResponseStreamEvent::OutputTextDone(e)
                }
                // A gateway that sends neither the finished item nor the output.
                ResponseStreamEvent::OutputItemDone(_) => continue,
                ResponseStreamEvent::Completed(mut e) => {
                    e.response.output.clear();
                    ResponseStreamEvent::Completed(e)
                }
                other => other,
            };
            acc.push_owned(event);
        }
        let response = acc.finish().unwrap();
        assert_eq!(response.output_text(), "Hello, corrected!");
    }
}
