//! A self-hosted, Foundry-compatible Responses endpoint with model-router, failover and an
//! offline emulator.

pub mod config;

pub use config::{Config, ConfigError};
mod emulator;
mod prompt;
mod upstream;
