//! Integration tests for `routewise-transport`, linked as one binary: one link and one
//! copy on disk instead of one per file (the CI disk budget is finite).

mod retry_layer;
mod sse_props;
mod support;
mod transports;
