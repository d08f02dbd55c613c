//! Standalone fake Auth0 Management API.
fn main() {}
