//! The retry policy of the official OpenAI SDKs, as a pure decision function and as a layer.
//!
//! - [`RetryPolicy::decide`] says whether and when to retry, given a status and headers or a
//!   transport error kind.
//! - [`RetryLayer`] wraps a transport and applies the policy, replaying the `Bytes` body.
//! - [`parse_retry_after`] and [`RateLimitInfo`] expose the throttling headers to callers.

mod headers;
mod jitter;
mod layer;
mod policy;

pub use headers::{RateLimitInfo, parse_retry_after, parse_retry_after_at};
pub use jitter::Jitter;
pub use layer::{Retry, RetryCount, RetryLayer};
pub use policy::{NoRetryReason, RetryDecision, RetryInput, RetryPolicy};
