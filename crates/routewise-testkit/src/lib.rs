//! Test kit for routewise users: MockFoundry on wiremock, a chunked-SSE fault server and fixtures.

pub mod fixtures;
mod foundry;
mod received;
mod sse_server;

pub use foundry::{DEFAULT_PROJECT, Deployment, ErrorReply, MockFoundry, Router, SEED_DEPLOYMENTS};
pub use received::ReceivedRequest;
pub use sse_server::{Script, SseFaultServer, StreamOutcome};
