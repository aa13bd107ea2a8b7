//! Engine tests against a real redis-server started per test on a free port.

#[path = "../support/mod.rs"]
mod support;

/// This suite talks the Redis protocol.
pub const TRANSPORT: support::Transport = support::Transport::Native;

mod big;
mod concurrency;
mod connection;
mod fair;
mod faults;
mod lifecycle;
mod monitor;
mod notify;
mod shows;
mod tls;
