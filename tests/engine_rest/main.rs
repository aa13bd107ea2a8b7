//! The engine's lifecycle suite again, over Upstash's REST API: the same test files, with the harness
//! putting the REST stand-in (in front of a real redis-server) between the engine and Redis.

#[path = "../support/mod.rs"]
mod support;

/// This suite talks REST.
pub const TRANSPORT: support::Transport = support::Transport::Rest;

#[path = "../engine/concurrency.rs"]
mod concurrency;
#[path = "../engine/lifecycle.rs"]
mod lifecycle;
#[path = "../engine/monitor.rs"]
mod monitor;
#[path = "../engine/notify.rs"]
mod notify;
#[path = "../engine/shows.rs"]
mod shows;

mod rest;
