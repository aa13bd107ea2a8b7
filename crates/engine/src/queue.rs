//! The buyer lifecycle and the staff actions on one schedule's queue. Every step is one Lua script (see
//! `lua/`); this module validates input, builds keys, and turns replies into typed results.

use rand::RngCore;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{BuyerId, Scope, SeatId, Ticket};
use crate::keys;
use crate::redis_conn::Redis;
use crate::replies::Context;
use crate::scripts::{self, Reply, SCRIPTS};

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
    /// A waiting buyer with no heartbeat for this long is dropped.
    pub abandon_ms: u64,
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
    pub const DEFAULT_MAX_SEATS: u32 = 10;
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            capacity: Self::DEFAULT_CAPACITY,
            session_ms: Self::DEFAULT_SESSION_MS,
            abandon_ms: Self::DEFAULT_ABANDON_MS,
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
    /// Dropped from the queue: no heartbeat within the abandonment window.
    Abandoned,
    Left,
    Removed,
    /// The queue closed (or was closed and reopened as a new generation).
    Closed,
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

    /// A buyer joins the queue. A buyer who already holds a live ticket gets [`Error::AlreadyQueued`]: only
    /// its owner gets it back ([`Engine::join_with_proof`]).
    pub async fn join(&self, scope: &Scope, buyer: &BuyerId) -> Result<TicketStatus> {
        self.join_with_proof(scope, buyer, JoinProof::None).await
    }

    /// A buyer joins the queue, or gets their live ticket back with proof that it is theirs.
    pub async fn join_with_proof(&self, scope: &Scope, buyer: &BuyerId, proof: JoinProof<'_>) -> Result<TicketStatus> {
        let keys = keys::queue_keys(scope);
        let r =
            self.redis.eval(&SCRIPTS.join, &keys[..keys::JOIN_KEYS], &[buyer.to_string(), proof_arg(proof)]).await?;
        Context::queue(scope).joined(buyer, r)
    }

    /// Several buyers join one queue in one script call, in the order given: each gets what
    /// [`Engine::join_with_proof`] would have answered had the calls run one after another (dense ranks in this
    /// order, one ticket per buyer, ownership checked per buyer). The outer error is the whole batch's
    /// (no queue, closed, Redis); the inner ones are per buyer. At most [`MAX_JOIN_BATCH`] buyers.
    pub async fn join_many(
        &self,
        scope: &Scope,
        joins: &[(BuyerId, JoinProof<'_>)],
    ) -> Result<Vec<Result<TicketStatus>>> {
        if joins.len() > MAX_JOIN_BATCH {
            return Err(Error::invalid(
                "join batch",
                &joins.len().to_string(),
                format!("at most {MAX_JOIN_BATCH} buyers per call"),
            ));
        }
        if joins.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys::queue_keys(scope);
        let mut args = Vec::with_capacity(1 + 2 * joins.len());
        args.push(joins.len().to_string());
        for (buyer, proof) in joins {
            args.push(buyer.to_string());
            args.push(proof_arg(*proof));
        }
        let r = self.redis.eval(&SCRIPTS.join_many, &keys[..keys::JOIN_KEYS], &args).await?;
        let buyers: Vec<&BuyerId> = joins.iter().map(|(b, _)| b).collect();
        Context::queue(scope).joined_many(&buyers, r)
    }

    /// A buyer's heartbeat: where the ticket stands now. A ticket of a closed queue answers `closed`.
    pub async fn status(&self, scope: &Scope, ticket: &Ticket) -> Result<TicketStatus> {
        self.status_for(scope, ticket, None).await
    }

    /// [`Engine::status`] for a caller acting for `owner` (the gateway): someone else's ticket is refused
    /// with [`Error::NotOwner`]. The same `owner` argument on leave, hold, release and complete.
    pub async fn status_for(&self, scope: &Scope, ticket: &Ticket, owner: Option<&BuyerId>) -> Result<TicketStatus> {
        let r = self.run(&SCRIPTS.status, scope, ticket_args(ticket, owner)).await?;
        Context::ticket(scope, ticket, owner).status(r)
    }

    /// The ticket departs the queue; `how` it left is recorded (`left`: the buyer; `removed`: staff).
    async fn depart(&self, scope: &Scope, ticket: &Ticket, owner: Option<&BuyerId>, how: &str) -> Result<TicketState> {
        let mut args = ticket_args(ticket, owner);
        args.push(how.to_string());
        let r = self.run(&SCRIPTS.leave, scope, args).await?;
        Context::ticket(scope, ticket, owner).departed(r)
    }

    /// The buyer leaves. Returns the state the ticket was in (leaving twice is harmless).
    pub async fn leave(&self, scope: &Scope, ticket: &Ticket) -> Result<TicketState> {
        self.depart(scope, ticket, None, "left").await
    }

    /// [`Engine::leave`] for a caller acting for `owner`.
    pub async fn leave_for(&self, scope: &Scope, ticket: &Ticket, owner: Option<&BuyerId>) -> Result<TicketState> {
        self.depart(scope, ticket, owner, "left").await
    }

    /// Staff remove a ticket from the queue (the buyer is told). Returns the state it was in.
    pub async fn remove_ticket(&self, scope: &Scope, ticket: &Ticket) -> Result<TicketState> {
        self.depart(scope, ticket, None, "removed").await
    }

    /// Holds seats for an admitted buyer, all or nothing.
    pub async fn hold(&self, scope: &Scope, ticket: &Ticket, seats: &[SeatId]) -> Result<Held> {
        self.hold_for(scope, ticket, None, seats).await
    }

    /// [`Engine::hold`] for a caller acting for `owner`.
    pub async fn hold_for(
        &self,
        scope: &Scope,
        ticket: &Ticket,
        owner: Option<&BuyerId>,
        seats: &[SeatId],
    ) -> Result<Held> {
        if seats.is_empty() {
            return Err(Error::invalid("seat list", "", "name at least one seat to hold"));
        }
        let mut args = ticket_args(ticket, owner);
        args.extend(seats.iter().map(|s| s.to_string()));
        let r = self.run(&SCRIPTS.hold, scope, args).await?;
        Context::ticket(scope, ticket, owner).held(r)
    }

    /// Releases some seats (or all, when `seats` is empty). Returns the seats still held.
    pub async fn release(&self, scope: &Scope, ticket: &Ticket, seats: &[SeatId]) -> Result<Vec<String>> {
        self.release_for(scope, ticket, None, seats).await
    }

    /// [`Engine::release`] for a caller acting for `owner`.
    pub async fn release_for(
        &self,
        scope: &Scope,
        ticket: &Ticket,
        owner: Option<&BuyerId>,
        seats: &[SeatId],
    ) -> Result<Vec<String>> {
        let mut args = ticket_args(ticket, owner);
        args.extend(seats.iter().map(|s| s.to_string()));
        Context::ticket(scope, ticket, owner).seats(self.run(&SCRIPTS.release, scope, args).await?)
    }

    /// Sets the outflow limit (admissions per minute; 0 = none), live. Returns the previous one.
    pub async fn set_outflow(&self, scope: &Scope, per_minute: u32) -> Result<u32> {
        if per_minute > MAX_OUTFLOW_PER_MIN {
            return Err(Error::invalid(
                "outflow limit",
                &per_minute.to_string(),
                format!("0 (no limit) to {MAX_OUTFLOW_PER_MIN} admissions per minute"),
            ));
        }
        let r = self.run(&SCRIPTS.outflow, scope, vec![per_minute.to_string()]).await?;
        Ok(Context::queue(scope).number(r)? as u32)
    }

    /// The seats taken now (held by a session, or sold): what a seat picker greys out. Read-only, one call.
    pub async fn taken_seats(&self, scope: &Scope) -> Result<Vec<String>> {
        let r = self.run(&SCRIPTS.seats_ro, scope, Vec::new()).await?;
        let mut seats = Context::queue(scope).seats(r)?;
        seats.sort();
        seats.dedup();
        Ok(seats)
    }

    /// Books the held seats: they become sold, the session ends, the next buyer is admitted.
    pub async fn complete(&self, scope: &Scope, ticket: &Ticket) -> Result<Vec<String>> {
        self.complete_for(scope, ticket, None).await
    }

    /// [`Engine::complete`] for a caller acting for `owner`.
    pub async fn complete_for(&self, scope: &Scope, ticket: &Ticket, owner: Option<&BuyerId>) -> Result<Vec<String>> {
        let args = ticket_args(ticket, owner);
        Context::ticket(scope, ticket, owner).seats(self.run(&SCRIPTS.complete, scope, args).await?)
    }

    /// The OPEN effect: initialise (or resume) the queue. Idempotent.
    pub async fn open_queue(&self, scope: &Scope, s: &QueueSettings) -> Result<QueueEffect> {
        self.open_queue_at_version(scope, s, None).await
    }

    /// The OPEN effect of the show's status change `version`: refused if a newer change already reached
    /// this queue.
    pub async fn open_queue_at_version(
        &self,
        scope: &Scope,
        s: &QueueSettings,
        version: Option<u64>,
    ) -> Result<QueueEffect> {
        self.init(scope, s, version, None).await
    }

    /// Opens a pre-queue (docs/PROTOCOL.md, "Pre-queue"): buyers join and wait, nobody is admitted; the
    /// draw's seed is chosen now and only its SHA-256 commitment is published. The next OPEN effect draws
    /// the order. A queue already open or in a pre-queue is left alone.
    pub async fn open_prequeue(&self, scope: &Scope, s: &QueueSettings, version: Option<u64>) -> Result<QueueEffect> {
        self.init(scope, s, version, Some(crate::draw::new_seed())).await
    }

    async fn init(
        &self,
        scope: &Scope,
        s: &QueueSettings,
        version: Option<u64>,
        prequeue: Option<(String, String)>,
    ) -> Result<QueueEffect> {
        let mut secret = [0u8; 16];
        rand::rng().fill_bytes(&mut secret);
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let args = vec![
            secret,
            s.capacity.to_string(),
            s.session_ms.to_string(),
            s.abandon_ms.to_string(),
            s.max_seats.to_string(),
            version.map(|v| v.to_string()).unwrap_or_default(),
            s.seats_total.to_string(),
            s.outflow_per_min.to_string(),
        ];
        let mut args = args;
        let flag = if prequeue.is_some() { "prequeue" } else { "" };
        let (seed, commit) = prequeue.unwrap_or_default();
        args.extend([flag.to_string(), seed, commit]);
        match &s.seat_map {
            Some(map) => args.extend([map.rows.join(" "), map.seats_per_row.to_string()]),
            None => args.extend([String::new(), String::new()]),
        }
        Context::queue(scope).opened(self.run(&SCRIPTS.init, scope, args).await?)
    }

    /// Pauses the queue (a staff action, or the POSTPONED effect).
    pub async fn pause_queue(&self, scope: &Scope) -> Result<QueueEffect> {
        self.pause_queue_at_version(scope, None).await
    }

    pub async fn pause_queue_at_version(&self, scope: &Scope, version: Option<u64>) -> Result<QueueEffect> {
        let r = self.run(&SCRIPTS.pause, scope, vec![version.map(|v| v.to_string()).unwrap_or_default()]).await?;
        Context::queue(scope).paused(r)
    }

    /// Resumes a paused queue.
    pub async fn resume_queue(&self, scope: &Scope) -> Result<QueueEffect> {
        Context::queue(scope).resumed(self.run(&SCRIPTS.resume, scope, vec![]).await?)
    }

    /// The CLOSED / CANCELLED effect. Never blocks Redis, whatever the queue's size; the buyers to be told
    /// stay recorded (a drain key) until the outbox worker has told them.
    pub async fn close_queue(&self, scope: &Scope, reason: CloseReason) -> Result<QueueEffect> {
        self.close_queue_at_version(scope, reason, None).await
    }

    pub async fn close_queue_at_version(
        &self,
        scope: &Scope,
        reason: CloseReason,
        version: Option<u64>,
    ) -> Result<QueueEffect> {
        let meta = &keys::queue_keys(scope)[0];
        for _ in 0..3 {
            let generation: Option<u64> = self.redis.query(redis::cmd("HGET").arg(meta).arg("gen")).await?;
            let Some(generation) = generation else {
                return Ok(QueueEffect::NoQueue);
            };
            let mut ks = keys::queue_keys(scope).to_vec();
            ks.push(keys::closing(scope, generation));
            let args = [
                reason.as_str().to_string(),
                generation.to_string(),
                version.map(|v| v.to_string()).unwrap_or_default(),
            ];
            let r = self.redis.eval(&SCRIPTS.close, &ks, &args).await?;
            if let Some(effect) = Context::queue(scope).closed(r)? {
                return Ok(effect);
            }
        }
        Err(Error::Redis(format!("the queue for {scope} kept changing generation while closing; try again")))
    }

    /// Admits up to `n` buyers from the head now, even beyond capacity. Returns how many were admitted.
    /// One script call admits at most a few hundred (so Redis never blocks); larger counts take several.
    pub async fn admit(&self, scope: &Scope, n: u32) -> Result<u64> {
        if n == 0 || n > 10_000 {
            return Err(Error::invalid("admit count", &n.to_string(), "admit between 1 and 10000 buyers at a time"));
        }
        let mut done = 0u64;
        // Each call is bounded (it may also skip abandoned tickets at the head); go on while it says more
        // buyers are waiting, within a bound of calls.
        for _ in 0..1000 {
            if done >= n as u64 {
                break;
            }
            let want = (n as u64 - done).to_string();
            let (admitted, more) =
                Context::queue(scope).admitted(self.run(&SCRIPTS.admit, scope, vec![want]).await?)?;
            done += admitted;
            if admitted == 0 && !more {
                break;
            }
        }
        Ok(done)
    }

    /// Sets the number of concurrent sessions. Returns how many buyers that admitted.
    pub async fn set_capacity(&self, scope: &Scope, capacity: u32) -> Result<u64> {
        if capacity > 100_000 {
            return Err(Error::invalid(
                "capacity",
                &capacity.to_string(),
                "a capacity is between 0 and 100000 sessions",
            ));
        }
        Context::queue(scope).number(self.run(&SCRIPTS.capacity, scope, vec![capacity.to_string()]).await?)
    }

    /// A message from the box office to everyone waiting in this queue.
    pub async fn announce(&self, scope: &Scope, message: &str) -> Result<()> {
        let text = message.trim();
        if text.is_empty()
            || text.chars().count() > MAX_ANNOUNCEMENT
            || text.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(Error::invalid(
                "announcement",
                message,
                format!("write 1 to {MAX_ANNOUNCEMENT} characters of text (no control characters other than newlines)"),
            ));
        }
        Context::queue(scope).ok(self.run(&SCRIPTS.announce, scope, vec![text.to_string()]).await?)?;
        Ok(())
    }
}
