//! Notifications: the Ably channels and events (docs/PROTOCOL.md) and how they get there.
//!
//! - [`wire`]: outbox entries as read from Redis, and the Ably messages each becomes (the wire format).
//! - [`delivery`]: [`Notifier`], one delivery pass over the outboxes and the audit stream.
//! - [`drain`]: telling every buyer of a closed queue, resumable slice by slice.
//! - [`worker`]: [`Worker`], passes in the background with a health report, and the housekeeping tick.
//!
//! Delivery: each queue's outbox is a Redis Stream read through the consumer group `seatwise-workers`.
//! Workers share the streams, not the entries: one worker at a time holds a stream's lease
//! (lua/lease.lua), so each channel's events go out in outbox order and nobody republishes what another is
//! still sending. An event is acknowledged (XACK, then XDEL) only after Ably accepted it; a worker that
//! dies stops renewing its leases and another takes its streams (and their unacknowledged entries) within
//! [`LEASE_TTL`]. Message ids are derived from the event's stream id, so an event sent again after a request
//! whose outcome was unknown keeps its id and Ably drops the repeat (within its 2-minute idempotency
//! window); an event Ably refused is the only other one ever sent again. Every payload carries `seq`, the
//! event's stream id, for clients to drop stale events. Buyer token requests are in `ticket_token.rs`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::ids::Scope;

pub mod delivery;
mod drain;
mod lease;
mod watch;
mod wire;
pub mod worker;

pub use delivery::{Notifier, NotifierConfig};
pub use worker::Worker;

/// The consumer group every worker joins.
pub const GROUP: &str = "seatwise-workers";
/// Schema version carried by every payload.
pub const SCHEMA: u32 = 1;
/// The admin channel: show status changes, for the Seatwise web app to sync its own database.
pub const ADMIN_CHANNEL: &str = "seatwise:admin";
/// How long a worker's lease on a stream lasts without renewal (renewed every third of it while the worker
/// lives): a dead worker's streams are taken over after at most this, plus one take attempt (a fifth of it).
pub const LEASE_TTL: Duration = Duration::from_secs(5);

/// The public channel of a schedule's queue.
pub fn queue_channel(scope: &Scope) -> String {
    format!("seatwise:queue:{}:{}", scope.show, scope.sched)
}

/// The private channel of one buyer's ticket.
pub fn ticket_channel(scope: &Scope, ticket: &str) -> String {
    format!("seatwise:ticket:{}:{}:{}", scope.show, scope.sched, ticket)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Progress of telling a closed queue's buyers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainProgress {
    pub show_scope_id: String,
    pub told: u64,
    pub total: u64,
}

/// How the worker is doing (serialized as `starting`, `running`, … for the console).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    #[default]
    Starting,
    Running,
    /// No Ably key: events wait in the outboxes; scheduled openings still run.
    AblyNotConfigured,
    AblyUnreachable,
    RedisUnreachable,
    Stopped,
}

impl WorkerState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Starting => "starting",
            WorkerState::Running => "running",
            WorkerState::AblyNotConfigured => "ably_not_configured",
            WorkerState::AblyUnreachable => "ably_unreachable",
            WorkerState::RedisUnreachable => "redis_unreachable",
            WorkerState::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for WorkerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The worker's health and progress, for the console and the CLI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerReport {
    pub state: WorkerState,
    pub consumer: String,
    pub cycles: u64,
    /// Events delivered (a closed queue's notices count one each).
    pub delivered: u64,
    /// Deliveries Ably refused or that could not reach it (they are retried).
    pub failed: u64,
    pub last_error: Option<String>,
    pub last_cycle_at_ms: u64,
    /// Outboxes (and the audit stream) this worker sends: its share among the live workers.
    pub streams: u64,
    pub drains: Vec<DrainProgress>,
}

/// What one cycle (or several) did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CycleReport {
    pub read: u64,
    pub delivered: u64,
    pub failed: u64,
    pub errors: Vec<String>,
    /// Closed-queue notices Ably accepted in this pass.
    pub told: u64,
    /// Buyers of closed queues still to be told (in the drains this worker sends).
    pub to_tell: u64,
    /// Something read stays to be sent (a failed event, a drain in progress, more than one batch).
    pub pending: bool,
    /// Outboxes another worker holds the lease of (it sends them).
    pub held_elsewhere: Vec<String>,
}
