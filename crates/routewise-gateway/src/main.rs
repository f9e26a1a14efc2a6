//! The `routewise` command line.
fn main() {}
