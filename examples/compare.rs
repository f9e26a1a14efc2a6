//! The seed's program: one prompt to model-router and to pinned deployments.
fn main() {}
