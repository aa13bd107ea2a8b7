//! Engine tests against a real redis-server started per test on a free port.

#[path = "../support/mod.rs"]
mod support;

mod big;
mod concurrency;
mod connection;
mod lifecycle;
mod monitor;
mod notify;
mod shows;
