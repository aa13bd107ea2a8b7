//! The buyer lifecycle and the staff actions on one schedule's queue. Every step is one Lua script (see
//! `lua/`); this module validates input, builds keys, and turns replies into typed results (`replies.rs`).
//! Here: the types and `Engine` itself; `buyer.rs` the buyer lifecycle; `staff.rs` the queue primitives
//! staff actions and status effects use.

use rand::RngCore;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{BuyerId, Scope, SeatId, Ticket};
use crate::keys;
use crate::redis_conn::Redis;
use crate::replies::Context;
use crate::scripts::{self, Reply, SCRIPTS};

mod buyer;
mod staff;

/// The engine: a cheap-to-clone handle on Redis through which every operation runs.
#[derive(Clone, Debug)]
pub struct Engine {
    redis: Redis,
}

/// A queue's settings, fixed when a generation opens (capacity can be changed later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueSettings {
    /// Concurrent sessions (buyers choosing seats at once).
    pub capacity: u32,
    /// How long an admitted buyer's session lasts.
    pub session_ms: u64,
    /// The presence window: the buyer at the front of the line must have checked in this recently to be
    /// admitted; otherwise they miss their turn (and have `grace_ms` to come back). Nobody further back is
    /// ever dropped for not checking in.
    pub abandon_ms: u64,
    /// How long a buyer who missed their turn may come back to be admitted ahead of the line.
    pub grace_ms: u64,
    /// Seats one session may hold.
    pub max_seats: u32,
    /// The schedule's seat count when admission is seat-aware (it stops while no seat is left); 0 = not.
    pub seats_total: u32,
    /// Admissions per minute at most; 0 = no limit (capacity alone).
    pub outflow_per_min: u32,
    /// The seats that exist: a hold names only these. None = any well-formed seat id (a queue opened
    /// without a show, e.g. `seatwise queue open`).
    #[serde(skip)]
    pub seat_map: Option<crate::shows::SeatMap>,
}

impl QueueSettings {
    pub const DEFAULT_CAPACITY: u32 = 100;
    pub const DEFAULT_SESSION_MS: u64 = 10 * 60 * 1000;
    pub const DEFAULT_ABANDON_MS: u64 = 120 * 1000;
    /// 10 minutes: pages far back check in at most every 5 minutes (half the window), so a page left open
    /// always comes back in time (docs/PROTOCOL.md, "Poll interval").
    pub const DEFAULT_GRACE_MS: u64 = 10 * 60 * 1000;
    pub const DEFAULT_MAX_SEATS: u32 = 10;
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            capacity: Self::DEFAULT_CAPACITY,
            session_ms: Self::DEFAULT_SESSION_MS,
            abandon_ms: Self::DEFAULT_ABANDON_MS,
            grace_ms: Self::DEFAULT_GRACE_MS,
            max_seats: Self::DEFAULT_MAX_SEATS,
            seats_total: 0,
            outflow_per_min: 0,
            seat_map: None,
        }
    }
}

/// Where a ticket stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Waiting,
    Admitted,
    Completed,
    /// The session ran out before the booking was completed.
    Expired,
    /// Missed their turn (not there when it came) and did not come back within the grace window.
    Abandoned,
    Left,
    Removed,
    /// The queue closed (or was closed and reopened as a new generation).
    Closed,
    /// Not there when their turn came: may come back until `expires_at_ms` (the grace window) to be
    /// admitted at the next free slot, ahead of the line. Any status call or join of theirs brings them back.
    Missed,
}

impl TicketState {
    pub(crate) fn from_code(code: i64) -> Result<TicketState> {
        Ok(match code {
            1 => TicketState::Waiting,
            2 => TicketState::Admitted,
            3 => TicketState::Completed,
            4 => TicketState::Expired,
            5 => TicketState::Abandoned,
            6 => TicketState::Left,
            7 => TicketState::Removed,
            8 => TicketState::Missed,
            // Back after missing their turn: waiting (ahead of the line).
            9 => TicketState::Waiting,
            other => {
                return Err(Error::Redis(format!("ticket slot holds unknown state {other}")));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Waiting => "waiting",
            TicketState::Admitted => "admitted",
            TicketState::Completed => "completed",
            TicketState::Expired => "expired",
            TicketState::Abandoned => "abandoned",
            TicketState::Left => "left",
            TicketState::Removed => "removed",
            TicketState::Closed => "closed",
            TicketState::Missed => "missed",
        }
    }
}

/// What proves that a buyer's existing live ticket is the caller's (docs/PROTOCOL.md, "Ticket ownership").
#[derive(Clone, Copy, Debug)]
pub enum JoinProof<'a> {
    /// No proof: a first join, or a buyer whose ticket is no longer live.
    None,
    /// The buyer's client presents the ticket it was given.
    Ticket(&'a Ticket),
    /// A trusted server (the venue's web app with its service key, staff tools) vouches for the buyer id.
    Trusted,
}

/// What a buyer is told about their ticket (join and status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TicketStatus {
    pub scope: String,
    pub ticket: String,
    pub state: TicketState,
    /// 1 = next in line; 0 when not waiting.
    pub rank: u64,
    /// rank × avgServiceMs, as the design guide computes it.
    pub eta_ms: u64,
    /// When an admitted buyer's session ends (ms since the epoch).
    pub expires_at_ms: Option<u64>,
    pub paused: bool,
    /// In a pre-queue: the place is drawn at the opening (rank is then the pre-queue's size).
    pub prequeue: bool,
    /// Back after missing their turn: waiting ahead of the line (rank among those back).
    pub returned: bool,
}

/// What a queue effect did to one schedule (the per-schedule result of a status change).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum QueueEffect {
    Opened {
        generation: u64,
    },
    Resumed {
        generation: u64,
    },
    AlreadyOpen {
        generation: u64,
    },
    Paused,
    AlreadyPaused,
    Closed {
        generation: u64,
        buyers_to_tell: u64,
    },
    AlreadyClosed,
    NoQueue,
    Unchanged,
    /// A newer status change has already been applied to this queue (two consoles raced).
    Superseded,
    /// A pre-queue opened: buyers join, the order is drawn at the opening.
    PreQueueOpened {
        generation: u64,
    },
    /// The opening of a pre-queue: its order was drawn and admission began.
    Drawn {
        generation: u64,
    },
}

impl QueueEffect {
    /// The result in staff's words. The generation (how many times the queue has been opened fresh) stays in
    /// the typed result for programs; the words only say when a reopening started a new queue.
    pub fn message(&self) -> String {
        let fresh =
            |g: u64| if g > 1 { " again, as a new queue: tickets from before it closed no longer count" } else { "" };
        match self {
            QueueEffect::Opened { generation } => format!("queue opened{}", fresh(*generation)),
            QueueEffect::Resumed { .. } => "queue resumed; buyers kept their places".into(),
            QueueEffect::AlreadyOpen { .. } => "queue already open; nothing changed".into(),
            QueueEffect::Paused => "queue paused; buyers keep their places, nobody is admitted".into(),
            QueueEffect::AlreadyPaused => "queue already paused".into(),
            QueueEffect::Closed { buyers_to_tell, .. } => {
                format!("queue closed; {buyers_to_tell} buyers will be told")
            }
            QueueEffect::AlreadyClosed => "queue already closed".into(),
            QueueEffect::NoQueue => "no queue to change (it was never opened)".into(),
            QueueEffect::Unchanged => "queue left as it is".into(),
            QueueEffect::Superseded => "left alone: a newer status change was already applied to this queue".into(),
            QueueEffect::PreQueueOpened { generation } => {
                format!("pre-queue opened{}; the order is drawn when the sale opens", fresh(*generation))
            }
            QueueEffect::Drawn { .. } => "queue opened; the pre-queue's order was drawn".into(),
        }
    }
}

/// Why a queue closes; buyers are told which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Closed,
    Cancelled,
}

impl CloseReason {
    fn as_str(self) -> &'static str {
        match self {
            CloseReason::Closed => "closed",
            CloseReason::Cancelled => "cancelled",
        }
    }
}

/// Seats held by a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Held {
    pub expires_at_ms: u64,
    pub seats: Vec<String>,
}

const MAX_ANNOUNCEMENT: usize = 1000;

/// The ticket's parts and the owner check (ARGV[1..4] of the ticket scripts, see `check_ticket` in lua/lib/calls.lua).
fn ticket_args(t: &Ticket, owner: Option<&BuyerId>) -> Vec<String> {
    vec![t.generation.to_string(), t.seq.to_string(), t.tag.clone(), owner.map(BuyerId::to_string).unwrap_or_default()]
}

fn proof_arg(proof: JoinProof<'_>) -> String {
    match proof {
        JoinProof::None => String::new(),
        JoinProof::Ticket(t) => t.to_string(),
        JoinProof::Trusted => "*".to_string(),
    }
}

/// The highest outflow limit staff may set (admissions per minute).
pub const MAX_OUTFLOW_PER_MIN: u32 = 100_000;

/// The most buyers [`Engine::join_many`] takes in one call (one script call stays well under a millisecond).
pub const MAX_JOIN_BATCH: usize = 256;

impl Engine {
    pub fn new(redis: Redis) -> Engine {
        Engine { redis }
    }

    pub fn redis(&self) -> &Redis {
        &self.redis
    }

    async fn run(&self, script: &scripts::Lua, scope: &Scope, args: Vec<String>) -> Result<Reply> {
        self.redis.eval(script, &keys::queue_keys(scope), &args).await
    }
}
