//! Integration tests for `routewise-testkit`, linked as one binary: one link and one
//! copy on disk instead of one per file (the CI disk budget is finite).

mod mock_foundry;
mod sse_fault_server;
mod typed_fixtures;
