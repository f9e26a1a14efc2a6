//! One server-sent event, and its wire encoding for servers.

use bytes::{BufMut, Bytes, BytesMut};

/// One dispatched server-sent event.
///
/// `data` joins multi-line `data:` fields with `\n`. `event`, `id` and `retry` are the fields set
/// inside this event's block (this type does not carry a last-event-id over from earlier events).
///
/// ```
/// use routewise_transport::sse::SseEvent;
///
/// let ev = SseEvent::new("{\"type\":\"response.created\"}").with_event("response.created");
/// assert_eq!(
///     &ev.encode()[..],
///     b"event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
/// );
/// assert!(!ev.is_done());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if the block set one.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, if the block set one.
    pub id: Option<String>,
    /// The `retry:` field (milliseconds), if the block set a valid one.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// An event with `data` and no other field.
    pub fn new(data: impl Into<String>) -> Self {
        Self {
            data: data.into(),
            ..Self::default()
        }
    }

    /// Sets the `event:` field.
    pub fn with_event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// Sets the `id:` field.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the `retry:` field (milliseconds).
    pub fn with_retry(mut self, retry_ms: u64) -> Self {
        self.retry = Some(retry_ms);
        self
    }

    /// Whether this is the `data: [DONE]` sentinel some OpenAI-compatible servers send last.
    ///
    /// The Responses API does not send it, but clients should tolerate it.
    pub fn is_done(&self) -> bool {
        self.data.trim() == "[DONE]"
    }

    /// The event in wire form, ending with the blank line that dispatches it.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.data.len() + 32);
        write_event(&mut out, self);
        out.freeze()
    }
}

/// Appends `event` in wire form to `out`.
///
/// `data` is split on any line ending into several `data:` lines, so a decoder gets the same
/// text back (line endings normalised to `\n`). Line breaks in `event` and `id` would break the
/// framing, so they are replaced by spaces.
pub fn write_event(out: &mut BytesMut, event: &SseEvent) {
    if let Some(name) = &event.event {
        write_single_line(out, b"event: ", name);
    }
    if let Some(id) = &event.id {
        write_single_line(out, b"id: ", id);
    }
    if let Some(retry) = event.retry {
        out.put_slice(b"retry: ");
        out.put_slice(retry.to_string().as_bytes());
        out.put_u8(b'\n');
    }
    for line in split_lines(&event.data) {
        out.put_slice(b"data: ");
        out.put_slice(line.as_bytes());
        out.put_u8(b'\n');
    }
    out.put_u8(b'\n');
}

fn write_single_line(out: &mut BytesMut, prefix: &[u8], value: &str) {
    out.put_slice(prefix);
    for b in value.bytes() {
        out.put_u8(if b == b'\n' || b == b'\r' { b' ' } else { b });
    }
    out.put_u8(b'\n');
}

/// Splits on `\r\n`, `\n` and `\r`, keeping a trailing empty line (`"a\n"` is two lines).
fn split_lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\n', '\r']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_data_and_all_fields_encode() {
        let ev = SseEvent::new("a\r\nb\nc")
            .with_event("x\ny")
            .with_id("7")
            .with_retry(1500);
        assert_eq!(
            &ev.encode()[..],
            b"event: x y\nid: 7\nretry: 1500\ndata: a\ndata: b\ndata: c\n\n"
        );
        assert_eq!(&SseEvent::new("").encode()[..], b"data: \n\n");
        assert_eq!(&SseEvent::new("a\n").encode()[..], b"data: a\ndata: \n\n");
    }

    #[test]
    fn done_sentinel() {
        assert!(SseEvent::new("[DONE]").is_done());
        assert!(!SseEvent::new("{}").is_done());
    }
}
