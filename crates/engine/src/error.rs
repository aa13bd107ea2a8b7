//! One error type for the engine. Messages say what was wrong and what is allowed; none carries a secret
//! (connection errors name the host and port only, never the URL with its password).

use crate::status::ShowStatus;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {what} {value:?}: {allowed}")]
    Invalid { what: &'static str, value: String, allowed: String },

    #[error("cannot reach Redis at {target}: {detail}")]
    Unreachable { target: String, detail: String },
    /// A cluster moving a slot (a failover or a resharding): the call did not run; try again in a moment.
    #[error(
        "the Redis Cluster at {target} is moving the slot of this queue (a failover or a resharding): {detail}; try again in a moment"
    )]
    Failover { target: String, detail: String },
    #[error("Redis at {target} refused the credentials (check the user name and password)")]
    Auth { target: String },
    #[error("TLS connection to Redis at {target} failed: {detail}")]
    Tls { target: String, detail: String },
    #[error("Redis Cluster misconfigured: {0}")]
    Cluster(String),
    #[error(
        "Redis at {target} refused the change: this connection may only watch (its Redis user or token is read-only); use a box-office profile to change anything"
    )]
    ReadOnly { target: String },
    #[error("Redis at {target} did not answer within {millis} ms")]
    Timeout { target: String, millis: u128 },
    #[error("Redis error: {0}")]
    Redis(String),

    #[error("show {0} not found")]
    ShowNotFound(String),
    #[error("show {0} already exists")]
    ShowExists(String),
    #[error(
        "show {show} was changed by someone else meanwhile: it is now {current} (version {version}); reload it and try again"
    )]
    Conflict { show: String, current: ShowStatus, version: u64 },
    #[error("cannot change show {show} from {from} to {to}: from {from} the allowed statuses are {allowed}")]
    IllegalTransition { show: String, from: ShowStatus, to: ShowStatus, allowed: String },
    #[error("show {show}: {reason}")]
    ShowRejected { show: String, reason: String },

    #[error("no queue has been opened for {0} (the show must be set to OPEN first)")]
    NoQueue(String),
    #[error("the queue for {0} is closed")]
    QueueClosed(String),
    #[error("the queue for {0} is full: a generation holds at most 67108863 tickets")]
    QueueFull(String),
    #[error("the queue for {0} is paused: resume it first")]
    QueuePaused(String),
    #[error("ticket {ticket} is not a ticket of the current queue for {scope}")]
    UnknownTicket { scope: String, ticket: String },
    #[error("ticket {0} has no live session: it was not admitted, or its session ended")]
    NoSession(String),
    #[error("seats already held or sold: {}", .0.join(", "))]
    SeatsTaken(Vec<String>),
    #[error("no such seat in this performance's seat map: {} (a seat is a row label and a number, e.g. A12)", .0.join(", "))]
    NoSuchSeat(Vec<String>),
    #[error("a session may hold at most {0} seats")]
    TooManySeats(u64),
    #[error("the session holds no seats to book: hold seats first")]
    NoSeats,
    #[error("seats not held by this session: {}", .0.join(", "))]
    NotHeld(Vec<String>),

    #[error("{path}: {detail}")]
    File { path: String, detail: String },

    #[error(
        "buyer {buyer} already holds a live ticket for {scope}: it is given back only to its owner (present the ticket), or leave it first"
    )]
    AlreadyQueued { scope: String, buyer: String },
    #[error("ticket {ticket} does not belong to buyer {buyer}")]
    NotOwner { ticket: String, buyer: String },
    #[error("ticket {ticket} is {state}: tokens are issued only for tickets waiting or admitted in a live queue")]
    TicketNotLive { ticket: String, state: String },
    #[error("Ably: {0}")]
    Ably(String),
}

/// A stable, machine-readable error code: the CLI's exit code comes from it, the console's UI receives it
/// as `{code, message}` and branches on it. Serialized in snake_case (`"not_found"`, `"conflict"`, ...).
/// Faces add no codes of their own: the console's few (keyring, preferences) are here too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Invalid,
    Unreachable,
    Auth,
    /// The connection may only read (a watch-only profile) and something tried to change data.
    ReadOnly,
    Tls,
    Cluster,
    Redis,
    NotFound,
    Exists,
    Conflict,
    IllegalTransition,
    Rejected,
    NoQueue,
    Closed,
    QueueFull,
    Paused,
    UnknownTicket,
    NoSession,
    SeatsTaken,
    /// A seat that is not in the schedule's seat map.
    NoSuchSeat,
    TooManySeats,
    NoSeats,
    NotHeld,
    File,
    NotOwner,
    NotLive,
    /// The buyer already holds a live ticket and did not prove it is theirs.
    AlreadyQueued,
    Ably,
    /// The console: no connection is open.
    NotConnected,
    /// The console: the OS keyring is missing, locked, or refused access.
    Keyring,
    KeyringUnavailable,
    KeyringLocked,
    KeyringDenied,
    /// The console: its preferences file could not be written.
    Prefs,
    /// A command did part of its work and stopped (some events undelivered, some schedules failed, a
    /// listener that stopped): what was done stays done.
    Incomplete,
    /// The console: a change on a production connection was not confirmed as production asks (closing or
    /// cancelling a show needs its id typed).
    Unconfirmed,
}

impl ErrorCode {
    /// The code as text, exactly as serialized.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Invalid => "invalid",
            Unreachable => "unreachable",
            Auth => "auth",
            ReadOnly => "read_only",
            Tls => "tls",
            Cluster => "cluster",
            Redis => "redis",
            NotFound => "not_found",
            Exists => "exists",
            Conflict => "conflict",
            IllegalTransition => "illegal_transition",
            Rejected => "rejected",
            NoQueue => "no_queue",
            Closed => "closed",
            QueueFull => "queue_full",
            Paused => "paused",
            UnknownTicket => "unknown_ticket",
            NoSession => "no_session",
            SeatsTaken => "seats_taken",
            NoSuchSeat => "no_such_seat",
            TooManySeats => "too_many_seats",
            NoSeats => "no_seats",
            NotHeld => "not_held",
            File => "file",
            NotOwner => "not_owner",
            NotLive => "not_live",
            AlreadyQueued => "already_queued",
            Ably => "ably",
            NotConnected => "not_connected",
            Keyring => "keyring",
            KeyringUnavailable => "keyring_unavailable",
            KeyringLocked => "keyring_locked",
            KeyringDenied => "keyring_denied",
            Prefs => "prefs",
            Unconfirmed => "unconfirmed",
            Incomplete => "incomplete",
        }
    }

    /// The CLI's exit code (README): 2 invalid input, 3 conflict, 4 not found, 5 Redis or Ably unreachable
    /// or refusing the credentials, 1 anything else.
    pub fn exit_code(self) -> u8 {
        use ErrorCode::*;
        match self {
            Invalid | File | Rejected | Unconfirmed | NoSuchSeat => 2,
            Conflict | IllegalTransition | Exists | SeatsTaken | TooManySeats | NotHeld | NoSeats | AlreadyQueued => 3,
            NotFound | NoQueue | UnknownTicket | NoSession | Closed | Paused | NotOwner | NotLive => 4,
            Unreachable | Auth | Tls | Cluster | Ably | ReadOnly => 5,
            Redis | QueueFull | Incomplete | NotConnected | Keyring | KeyringUnavailable | KeyringLocked
            | KeyringDenied | Prefs => 1,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The error's stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid { .. } => ErrorCode::Invalid,
            Error::Unreachable { .. } | Error::Timeout { .. } | Error::Failover { .. } => ErrorCode::Unreachable,
            Error::Auth { .. } => ErrorCode::Auth,
            Error::ReadOnly { .. } => ErrorCode::ReadOnly,
            Error::Tls { .. } => ErrorCode::Tls,
            Error::Cluster(_) => ErrorCode::Cluster,
            Error::Redis(_) => ErrorCode::Redis,
            Error::ShowNotFound(_) => ErrorCode::NotFound,
            Error::ShowExists(_) => ErrorCode::Exists,
            Error::Conflict { .. } => ErrorCode::Conflict,
            Error::IllegalTransition { .. } => ErrorCode::IllegalTransition,
            Error::ShowRejected { .. } => ErrorCode::Rejected,
            Error::NoQueue(_) => ErrorCode::NoQueue,
            Error::QueueClosed(_) => ErrorCode::Closed,
            Error::QueueFull(_) => ErrorCode::QueueFull,
            Error::QueuePaused(_) => ErrorCode::Paused,
            Error::UnknownTicket { .. } => ErrorCode::UnknownTicket,
            Error::NoSession(_) => ErrorCode::NoSession,
            Error::SeatsTaken(_) => ErrorCode::SeatsTaken,
            Error::NoSuchSeat(_) => ErrorCode::NoSuchSeat,
            Error::TooManySeats(_) => ErrorCode::TooManySeats,
            Error::NoSeats => ErrorCode::NoSeats,
            Error::NotHeld(_) => ErrorCode::NotHeld,
            Error::File { .. } => ErrorCode::File,
            Error::NotOwner { .. } => ErrorCode::NotOwner,
            Error::TicketNotLive { .. } => ErrorCode::NotLive,
            Error::AlreadyQueued { .. } => ErrorCode::AlreadyQueued,
            Error::Ably(_) => ErrorCode::Ably,
        }
    }

    pub(crate) fn invalid(what: &'static str, value: &str, allowed: impl Into<String>) -> Error {
        // Quote at most 80 characters of what was given: enough to recognise, never a flood.
        let shown: String = value.chars().take(80).collect();
        Error::Invalid { what, value: shown, allowed: allowed.into() }
    }
}

impl From<seatwise_ably::Error> for Error {
    fn from(e: seatwise_ably::Error) -> Error {
        // seatwise-ably never puts the key in an error; its text is safe to show.
        Error::Ably(e.to_string())
    }
}
