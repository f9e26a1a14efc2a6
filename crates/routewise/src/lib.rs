//! The routewise client: ProjectClient and Client for the Responses API with automatic or pinned model routing.
