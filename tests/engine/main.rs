//! Engine tests against a real redis-server started per test on a free port.

#[path = "../support/mod.rs"]
mod support;

mod lifecycle;
