//! The incremental, transport-independent SSE decoder.

use bytes::{Buf, BytesMut};

use super::{SseError, SseEvent};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The default limit on one event's size: 32 MiB, enough for a `response.completed` event that
/// carries a large final response (e.g. base64 images).
pub const DEFAULT_MAX_EVENT_SIZE: usize = 32 * 1024 * 1024;

/// An incremental decoder for `text/event-stream` (WHATWG HTML "event stream interpretation").
///
/// Feed it chunks as they arrive with [`push`](Self::push), take complete events with
/// [`next_event`](Self::next_event), and call [`finish`](Self::finish) at end of stream. Chunks may
/// split the stream at any byte: inside a UTF-8 character, between `\r` and `\n`, inside the BOM.
/// Lines may end in `\r\n`, `\n` or `\r`; comments (`:` lines) and unknown fields are skipped.
///
/// ```
/// use routewise_transport::sse::SseDecoder;
///
/// let mut dec = SseDecoder::new();
/// dec.push(b"event: greet\r\ndata: hel");
/// assert!(dec.next_event().unwrap().is_none());
/// dec.push(b"lo\r\n\r\n");
/// let ev = dec.next_event().unwrap().unwrap();
/// assert_eq!((ev.event.as_deref(), ev.data.as_str()), (Some("greet"), "hello"));
/// dec.finish().unwrap();
/// ```
#[derive(Debug)]
pub struct SseDecoder {
    buf: BytesMut,
    /// Bytes at the front of `buf` already known to hold no line terminator.
    scanned: usize,
    /// The last line ended with a `\r` at the end of a chunk; a leading `\n` belongs to it.
    skip_lf: bool,
    bom_checked: bool,
    max_event_size: usize,
    /// Skipping the rest of an oversized event, up to its blank line.
    discarding: bool,
    /// While discarding: part of the current line was already dropped.
    discarded_partial_line: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
    retry: Option<u64>,
    /// A field line was seen since the last blank line.
    in_event: bool,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the [default event size limit](DEFAULT_MAX_EVENT_SIZE).
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that rejects events larger than `max_event_size` bytes with
    /// [`SseError::EventTooLarge`].
    pub fn with_max_event_size(max_event_size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            scanned: 0,
            skip_lf: false,
            bom_checked: false,
            max_event_size,
            discarding: false,
            discarded_partial_line: false,
            event: None,
            data: String::new(),
            has_data: false,
            id: None,
            retry: None,
            in_event: false,
        }
    }

    /// The configured event size limit.
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// Appends a chunk of the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Returns the next complete event, or `None` until more input arrives.
    ///
    /// On [`SseError::EventTooLarge`] the oversized event is dropped and decoding resumes after
    /// its terminating blank line.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        if !self.bom_checked {
            let n = self.buf.len().min(BOM.len());
            if self.buf[..n] != BOM[..n] {
                self.bom_checked = true;
            } else if n == BOM.len() {
                self.buf.advance(BOM.len());
                self.bom_checked = true;
            } else {
                return Ok(None);
            }
        }
        loop {
            if self.skip_lf {
                match self.buf.first() {
                    None => return Ok(None),
                    Some(b'\n') => self.buf.advance(1),
                    Some(_) => {}
                }
                self.skip_lf = false;
            }
            let Some(end) =
                memchr::memchr2(b'\n', b'\r', &self.buf[self.scanned..]).map(|i| i + self.scanned)
            else {
                return self.await_more_input();
            };
            let line = self.buf.split_to(end);
            self.scanned = 0;
            if self.buf[0] == b'\r' {
                match self.buf.get(1) {
                    Some(b'\n') => self.buf.advance(2),
                    Some(_) => self.buf.advance(1),
                    None => {
                        self.buf.advance(1);
                        self.skip_lf = true;
                    }
                }
            } else {
                self.buf.advance(1);
            }
            if self.discarding {
                let blank = line.is_empty() && !self.discarded_partial_line;
                self.discarded_partial_line = false;
                if blank {
                    self.discarding = false;
                }
                continue;
            }
            if let Some(event) = self.process_line(&line)? {
                return Ok(Some(event));
            }
        }
    }

    /// Signals end of stream.
    ///
    /// Fails with [`SseError::Truncated`] if the stream stopped inside an event: a field line
    /// without the blank line that dispatches it, or a partial line.
    pub fn finish(&mut self) -> Result<(), SseError> {
        let pending_bytes = self.buf.len() + self.data.len();
        let partial_bom = !self.bom_checked && !self.buf.is_empty();
        if self.in_event || (!self.buf.is_empty() && !self.discarding) || partial_bom {
            self.reset_event();
            self.buf.clear();
            self.scanned = 0;
            return Err(SseError::Truncated { pending_bytes });
        }
        Ok(())
    }

    fn await_more_input(&mut self) -> Result<Option<SseEvent>, SseError> {
        if self.discarding {
            if !self.buf.is_empty() {
                self.discarded_partial_line = true;
            }
            self.buf.clear();
            self.scanned = 0;
            return Ok(None);
        }
        self.scanned = self.buf.len();
        if self.buf.len().saturating_add(self.data.len()) > self.max_event_size {
            self.buf.clear();
            self.scanned = 0;
            self.discarding = true;
            self.discarded_partial_line = true;
            self.reset_event();
            return Err(SseError::EventTooLarge {
                limit: self.max_event_size,
            });
        }
        Ok(None)
    }

    fn process_line(&mut self, line: &[u8]) -> Result<Option<SseEvent>, SseError> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(None);
        }
        self.in_event = true;
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                push_lossy(&mut self.data, value);
                self.has_data = true;
                if self.data.len() > self.max_event_size {
                    self.reset_event();
                    self.discarding = true;
                    return Err(SseError::EventTooLarge {
                        limit: self.max_event_size,
                    });
                }
            }
            b"event" => self.event = Some(lossy(value)),
            b"id" if !value.contains(&0) => {
                self.id = Some(lossy(value));
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // All digits, so parsing fails only on overflow; ignore it then, like a bad value.
                self.retry = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
            }
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        if !self.has_data {
            // Per the spec a block without data dispatches nothing.
            self.reset_event();
            return None;
        }
        let event = SseEvent {
            event: self.event.take(),
            data: std::mem::take(&mut self.data),
            id: self.id.take(),
            retry: self.retry.take(),
        };
        self.reset_event();
        Some(event)
    }

    fn reset_event(&mut self) {
        self.event = None;
        self.data.clear();
        self.has_data = false;
        self.id = None;
        self.retry = None;
        self.in_event = false;
    }
}

/// `value` as text, invalid UTF-8 replaced. The check alone is much faster than
/// `from_utf8_lossy`'s chunking, and almost every line is valid.
fn push_lossy(out: &mut String, value: &[u8]) {
    match std::str::from_utf8(value) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(value)),
    }
}

fn lossy(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    push_lossy(&mut out, value);
    out
}
