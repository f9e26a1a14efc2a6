//! Integration tests for `routewise-auth`, linked as one binary: one link and one
//! copy on disk instead of one per file (the CI disk budget is finite).

mod azure_credential;
mod from_env;
mod header_forms;
mod token_cache;
