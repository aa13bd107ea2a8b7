//! The Seatwise queue engine: a waiting room per show schedule, kept in Redis.
//!
//! # Layout
//! - [`ids`]: validated identifiers (show, schedule, buyer, seat, ticket). No Redis key is built from text
//!   that did not pass through here.
//! - [`keys`]: the key schema; every key of one schedule's queue carries the hash tag `{<show>:<sched>}`.
//! - [`redis_conn`]: the one transport seam: connecting (single node, TLS, Cluster), timeouts, clear
//!   connection errors, round-trip counting.
//! - `rest`: the Upstash REST transport behind the same seam (HTTPS, JSON, `/pipeline`).
//! - [`scripts`]: the Lua scripts (one file per operation under `lua/`), EVALSHA with reload on NOSCRIPT,
//!   and the single place where script result codes become [`Error`]s.
//! - [`queue`]: the buyer lifecycle (join, status, leave, holds, booking) and the staff actions on one queue.
//! - [`shows`]: shows and schedules, the status transition table and `update_show_status`, the audit log.
//! - [`monitor`]: `get_show_queue_status` and the same for every open queue, in two round trips.
//! - [`notify`]: Ably channels and events, the outbox worker, the closed-queue drain, buyer tokens.
//! - [`gate`]: what the buyer gateway shares through Redis or signs: its key, proof-of-work challenges,
//!   admission passes, rate limits.
//! - [`local`]: a local redis-server (and Redis Cluster) started on a free port: the embedded default and
//!   the test harness.
//! - [`sim`]: the load simulator: buyers that join, poll, abandon, hold seats and book.
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
pub use monitor::{EtaRange, QueueState, QueueStats, ScheduleQueueStatus, ShowQueueStatus};
pub use queue::{Engine, JoinProof, MAX_JOIN_BATCH, QueueSettings, TicketState, TicketStatus};
pub use redis_conn::{ConnectOptions, Redis, Target};
pub use shows::{Schedule, SeatMap, Show, StatusChange};
pub use status::ShowStatus;
