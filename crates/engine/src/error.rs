//! One error type for the engine. Messages say what was wrong and what is allowed; none carries a secret
//! (connection errors name the host and port only, never the URL with its password).

use crate::shows::ShowStatus;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {what} {value:?}: {allowed}")]
    Invalid { what: &'static str, value: String, allowed: String },

    #[error("cannot reach Redis at {target}: {detail}")]
    Unreachable { target: String, detail: String },
    #[error("Redis at {target} refused the credentials (check the user name and password)")]
    Auth { target: String },
    #[error("TLS connection to Redis at {target} failed: {detail}")]
    Tls { target: String, detail: String },
    #[error("Redis Cluster misconfigured: {0}")]
    Cluster(String),
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
    #[error("a session may hold at most {0} seats")]
    TooManySeats(u64),
    #[error("the session holds no seats to book: hold seats first")]
    NoSeats,
    #[error("seats not held by this session: {}", .0.join(", "))]
    NotHeld(Vec<String>),

    #[error("{path}: {detail}")]
    File { path: String, detail: String },

    #[error("ticket {ticket} does not belong to buyer {buyer}")]
    NotOwner { ticket: String, buyer: String },
    #[error("ticket {ticket} is {state}: tokens are issued only for tickets waiting or admitted in a live queue")]
    TicketNotLive { ticket: String, state: String },
    #[error("Ably: {0}")]
    Ably(String),
}

impl Error {
    /// A stable, machine-readable code (for the CLI's exit codes and, later, the console's UI).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid",
            Error::Unreachable { .. } | Error::Timeout { .. } => "unreachable",
            Error::Auth { .. } => "auth",
            Error::Tls { .. } => "tls",
            Error::Cluster(_) => "cluster",
            Error::Redis(_) => "redis",
            Error::ShowNotFound(_) => "not_found",
            Error::ShowExists(_) => "exists",
            Error::Conflict { .. } => "conflict",
            Error::IllegalTransition { .. } => "illegal_transition",
            Error::ShowRejected { .. } => "rejected",
            Error::NoQueue(_) => "no_queue",
            Error::QueueClosed(_) => "closed",
            Error::QueueFull(_) => "queue_full",
            Error::QueuePaused(_) => "paused",
            Error::UnknownTicket { .. } => "unknown_ticket",
            Error::NoSession(_) => "no_session",
            Error::SeatsTaken(_) => "seats_taken",
            Error::TooManySeats(_) => "too_many_seats",
            Error::NoSeats => "no_seats",
            Error::NotHeld(_) => "not_held",
            Error::File { .. } => "file",
            Error::NotOwner { .. } => "not_owner",
            Error::TicketNotLive { .. } => "not_live",
            Error::Ably(_) => "ably",
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
