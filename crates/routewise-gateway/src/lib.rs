//! A self-hosted, Foundry-compatible Responses endpoint with model-router, failover and an offline emulator.
