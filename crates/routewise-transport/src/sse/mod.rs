//! Server-sent events, independent of the transport: an incremental [`SseDecoder`], a
//! [`SseStream`] over any `http_body::Body`, and [`write_event`] for servers.

mod decoder;
mod error;
mod event;
mod stream;

pub use decoder::{DEFAULT_MAX_EVENT_SIZE, SseDecoder};
pub use error::SseError;
pub use event::{SseEvent, write_event};
pub use stream::SseStream;

#[cfg(test)]
mod tests;
