//! `concord-sandbox`: serves the provider sandboxes on 127.0.0.1.
fn main() {}
