//! The Seatwise queue engine: a waiting room per show schedule, kept in Redis.
//!
//! # Layout
//! - [`ids`]: validated identifiers (show, schedule, buyer, seat, ticket). No Redis key is built from text
//!   that did not pass through here.
//! - [`keys`]: the key schema; every key of one schedule's queue carries the hash tag `{<show>:<sched>}`.
//! - [`redis_conn`]: the one transport seam: where Redis is, TLS, Cluster routing, timeouts, connection
//!   errors in words, round-trip counting; `rest`: the Upstash REST transport behind the same seam.
//! - [`scripts`]: the Lua scripts (one file per operation under `lua/`, the shared `lua/lib/`), linked and
//!   sent by EVALSHA with reload on NOSCRIPT; `replies`: every reply decoded into a type, the one place
//!   where result codes become [`Error`]s.
//! - [`queue`]: the buyer lifecycle (join, status, leave, holds, booking) and the queue primitives.
//! - [`actions`]: staff actions on one queue, audited. [`status`]: a show's status and transitions.
//! - [`shows`]: shows and schedules, the catalog, `update_show_status`. [`audit`]: the audit log.
//! - [`monitor`]: `get_show_queue_status` and the same for every open queue, in two round trips;
//!   [`history`]: the shared per-queue history.
//! - [`opening`] and [`draw`]: scheduled openings and the pre-queue's provably fair draw.
//! - [`notify`]: Ably channels and events, the outbox worker (leases, watched queues), the closed-queue
//!   drain; [`ticket_token`]: buyer tokens.
//! - [`gate`]: what the buyer gateway signs or shares through Redis: the key ring (never stored in Redis),
//!   proof-of-work challenges, admission passes and their online check, rate limits.
//! - [`connect`]: shared connection flows (the Ably client from options, checks).
//! - [`local`]: a local redis-server (and Redis Cluster) started on a free port: the embedded default and
//!   the test harness. [`sandbox`]: the local sandbox. [`sim`]: simulated buyers (demo shows only).
//!
//! The engine knows nothing about Tauri, webviews or JSON IPC; the CLI and the console are thin faces on it.

pub mod actions;
pub mod audit;
pub mod connect;
pub mod draw;
pub mod error;
pub mod gate;
pub mod history;
pub mod ids;
pub mod keys;
pub mod local;
pub mod monitor;
pub mod notify;
pub mod opening;
pub mod queue;
pub mod redis_conn;
mod replies;
mod rest;
pub mod sandbox;
pub mod scripts;
pub mod shows;
pub mod sim;
pub mod status;
pub mod ticket_token;

pub use actions::{ActionOutcome, StaffAction};
pub use audit::{Actor, AuditEvent, AuditRecord};
pub use error::{Error, ErrorCode, Result};
pub use ids::{BuyerId, SchedId, Scope, SeatId, ShowId, Ticket};
pub use monitor::{Announcement, EtaRange, QueueState, QueueStats, ScheduleQueueStatus, ShowQueueStatus};
pub use queue::{Engine, JoinProof, MAX_JOIN_BATCH, QueueSettings, TicketState, TicketStatus};
pub use redis_conn::{ConnectOptions, Redis, Target};
pub use shows::{Schedule, SeatMap, Show, StatusChange};
pub use status::ShowStatus;
