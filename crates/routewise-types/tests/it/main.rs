//! Integration tests for `routewise-types`, linked as one binary: one link and one
//! copy on disk instead of one per file (the CI disk budget is finite).

mod absent_and_null;
mod bad_input;
mod common;
mod error_codes;
mod golden;
mod roundtrip_props;
mod tag_dispatch;
