//! Pluggable HTTP transports for routewise (reqwest, hyper or your own), SSE decoding, timeouts
//! and the retry policy.
//!
//! - [`Transport`] is the plug-in point: one object-safe async method that sends an
//!   `http::Request<Bytes>` and returns an `http::Response<`[`ResponseBody`]`>` whose body streams.
//! - `ReqwestTransport` (feature `reqwest`, default) and `HyperTransport` (feature `hyper`) are the
//!   built-in implementations.
//! - [`TimeoutLayer`], [`RetryLayer`] and [`ThrottleLayer`] are `tower_layer::Layer`s that wrap
//!   any transport. [`ThrottleLayer`] holds every request back while the server's last answer
//!   asked for quiet (a 429's `retry-after`, an exhausted `x-ratelimit-remaining-*`).
//! - [`sse`] decodes `text/event-stream` bodies independently of the transport.
//!
//! ```no_run
//! # #[cfg(feature = "reqwest")] {
//! use std::time::Duration;
//! use routewise_transport::{ReqwestTransport, RetryLayer, RetryPolicy, TimeoutLayer};
//! use tower_layer::Layer;
//!
//! let transport = RetryLayer::new(RetryPolicy::default()).layer(
//!     TimeoutLayer::new()
//!         .response_header_timeout(Duration::from_secs(60))
//!         .idle_timeout(Duration::from_secs(30))
//!         .layer(ReqwestTransport::new()),
//! );
//! # let _ = transport; }
//! ```
//!
//! Put [`RetryLayer`] outside [`TimeoutLayer`] so each attempt gets its own header timeout and
//! a timed-out attempt is retried.
//!
//! # Cancellation
//!
//! Dropping the future returned by [`Transport::send`] cancels the request (and any pending
//! retry); dropping a response body closes the stream (the HTTP/1.1 connection is closed, an
//! HTTP/2 stream is reset).
//!
//! This crate knows nothing about credentials or the Responses API types: the `routewise` client
//! composes it with `routewise-auth` and `routewise-types`.

pub mod body;
mod error;
#[cfg(feature = "hyper")]
mod hyper_transport;
#[cfg(feature = "reqwest")]
mod reqwest_transport;
pub mod retry;
pub mod sse;
mod throttle;
mod timeout;
#[cfg(any(feature = "reqwest", feature = "hyper"))]
mod trace;
mod transport;
#[cfg(feature = "reqwest")]
mod url_cache;

pub use body::ResponseBody;
pub use error::{BoxError, TransportError, TransportErrorKind};
#[cfg(feature = "hyper")]
pub use hyper_transport::{HyperTransport, HyperTransportBuilder};
#[cfg(feature = "reqwest")]
pub use reqwest_transport::{ReqwestTransport, ReqwestTransportBuilder};
pub use retry::{
    RateLimitInfo, Retry, RetryDecision, RetryInput, RetryLayer, RetryPolicy, parse_retry_after,
};
pub use throttle::{DEFAULT_MAX_WAIT, Throttle, ThrottleLayer};
pub use timeout::{Timeout, TimeoutLayer, deadline};
pub use transport::{SharedTransport, Transport};
