//! Benchmark placeholder; replaced by the owning work.
fn main() {}
