//! Integration tests for `routewise-gateway`, linked as one binary: one link and one
//! copy on disk instead of one per file (the CI disk budget is finite).

mod access;
mod background;
mod bad_input;
mod common;
mod config;
mod connections;
mod emulator;
mod exhausted;
mod failover;
mod filter;
mod hostile_upstream;
mod json_as_stream;
mod legacy_routes;
mod limits;
mod routing;
mod shutdown;
mod store;
mod stream_end;
mod telemetry;
