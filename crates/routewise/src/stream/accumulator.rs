//! Builds the final `Response` from a stream of events.

use routewise_types::{OutputContent, OutputItem, OutputText, Response, ResponseStreamEvent};

/// Folds stream events into a [`Response`].
///
/// The terminal `response.completed|incomplete` event carries the whole response, and that is
/// what [`finish`](Self::finish) returns. Output is also rebuilt from the item and delta events,
/// so a server (or gateway) that sends an abbreviated terminal response with an empty `output`
/// still yields the text the caller saw streaming.
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
/// acc.push(&ResponseStreamEvent::completed(4, Response::new("resp_1", "gpt-4.1-nano")));
/// let response = acc.finish().unwrap();
/// assert_eq!(response.output_text(), "Hello");
/// assert_eq!(response.model.as_deref(), Some("gpt-4.1-nano"));
/// ```
#[derive(Debug, Default, Clone)]
pub struct StreamAccumulator {
    snapshot: Option<Response>,
    output: Vec<OutputItem>,
    terminal: Option<Response>,
    text: String,
    events: usize,
}

impl StreamAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one event.
    pub fn push(&mut self, event: &ResponseStreamEvent) {
        self.events += 1;
        match event {
            ResponseStreamEvent::Created(e)
            | ResponseStreamEvent::InProgress(e)
            | ResponseStreamEvent::Queued(e) => {
                self.snapshot = Some(e.response.clone());
            }
            ResponseStreamEvent::Completed(e) | ResponseStreamEvent::Incomplete(e) => {
                self.terminal = Some(e.response.clone());
            }
            ResponseStreamEvent::OutputItemAdded(e) | ResponseStreamEvent::OutputItemDone(e) => {
                let slot = self.slot(e.output_index);
                *slot = e.item.clone();
            }
            ResponseStreamEvent::ContentPartAdded(e) => {
                if let Some(OutputItem::Message(m)) = self.output.get_mut(index(e.output_index)) {
                    let at = index(e.content_index);
                    if m.content.len() <= at {
                        m.content
                            .resize_with(at + 1, || OutputContent::OutputText(OutputText::new("")));
                    }
                    m.content[at] = e.part.clone();
                }
            }
            ResponseStreamEvent::OutputTextDelta(e) => {
                self.text.push_str(&e.delta);
                if let Some(t) = self.text_part(e.output_index, e.content_index.unwrap_or(0)) {
                    t.text.push_str(&e.delta);
                }
            }
            ResponseStreamEvent::OutputTextDone(e) => {
                if let Some(t) = self.text_part(e.output_index, e.content_index.unwrap_or(0)) {
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

    /// The latest response snapshot: the terminal one if it arrived, else the last lifecycle event.
    pub fn snapshot(&self) -> Option<&Response> {
        self.terminal.as_ref().or(self.snapshot.as_ref())
    }

    /// True once `response.completed` or `response.incomplete` was seen.
    pub fn is_complete(&self) -> bool {
        self.terminal.is_some()
    }

    /// The final response, if a terminal event arrived. An empty terminal `output` is filled
    /// from the items rebuilt out of the stream.
    pub fn finish(self) -> Option<Response> {
        let mut response = self.terminal?;
        if response.output.is_empty() && !self.output.is_empty() {
            response.output = self.output;
        }
        Some(response)
    }

    fn slot(&mut self, output_index: u64) -> &mut OutputItem {
        let at = index(output_index);
        if self.output.len() <= at {
            self.output
                .resize_with(at + 1, || OutputItem::Unknown(serde_json::Value::Null));
        }
        &mut self.output[at]
    }

    /// The text part a delta belongs to, created if `content_part.added` was skipped.
    fn text_part(&mut self, output_index: u64, content_index: u64) -> Option<&mut OutputText> {
        let OutputItem::Message(m) = self.output.get_mut(index(output_index))? else {
            return None;
        };
        let at = index(content_index);
        if m.content.len() <= at {
            m.content
                .resize_with(at + 1, || OutputContent::OutputText(OutputText::new("")));
        }
        match &mut m.content[at] {
            OutputContent::OutputText(t) => Some(t),
            _ => None,
        }
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
}
