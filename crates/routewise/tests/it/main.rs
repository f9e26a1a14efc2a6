//! Integration tests for `routewise`, linked as one binary: one link and one
//! copy on disk instead of one per file (the CI disk budget is finite).

mod credential_timeout;
mod errors;
mod fault;
mod hostile_server;
mod input_items;
mod redirect;
mod responses_futures;
mod retrieve_stream;
mod retry;
mod routing;
mod seed;
mod stream_frames;
mod stream_tail;
mod stream_timing;
mod streaming;
mod support;
mod telemetry;
mod unauthorized;
