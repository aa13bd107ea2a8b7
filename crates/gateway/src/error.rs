//! The API's errors: `{code, message}` with a fitting HTTP status, never an internal detail. Engine errors
//! that speak of Redis, TLS or Ably are logged (without secrets: the engine redacts them) and answered
//! with a plain 503.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seatwise_engine::{Error, ErrorCode};
use serde::Serialize;

#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    pub fn rate_limited(retry_after_ms: u64) -> ApiError {
        let secs = retry_after_ms.div_ceil(1000).max(1);
        ApiError {
            retry_after: Some(secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; try again in {secs} s"),
            )
        }
    }

    pub fn unavailable() -> ApiError {
        ApiError {
            retry_after: Some(2),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the queue service is unavailable for a moment; try again shortly (your place is kept)",
            )
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        use ErrorCode::*;
        let code = e.code();
        let status = match code {
            Invalid | Unconfirmed | NoSuchSeat => StatusCode::BAD_REQUEST,
            NotOwner => StatusCode::FORBIDDEN,
            NotFound | NoQueue | UnknownTicket => StatusCode::NOT_FOUND,
            Closed => StatusCode::GONE,
            Conflict | Exists | IllegalTransition | Rejected | SeatsTaken | TooManySeats | NoSeats | NotHeld
            | AlreadyQueued | NoSession | NotLive | Paused | QueueFull => StatusCode::CONFLICT,
            _ if matches!(e, Error::Failover { .. }) => {
                // A cluster failing over is not a fault of ours: counted (in seconds seen), logged quietly.
                failover_second();
                tracing::info!(error = %e, "cluster failover or resharding in progress: answered 503 with Retry-After");
                return ApiError::unavailable();
            }
            Unreachable | Auth | ReadOnly | Tls | Cluster | Redis | Ably | File | Incomplete | NotConnected
            | Keyring | KeyringUnavailable | KeyringLocked | KeyringDenied | Prefs => {
                tracing::warn!(code = code.as_str(), error = %e, "engine error answered as 503");
                return ApiError::unavailable();
            }
        };
        ApiError::new(status, code.as_str(), e.to_string())
    }
}

/// Counts the seconds in which this gateway saw a failover (`seatwise_gateway_failover_seconds_total`):
/// once per second however many calls met it.
fn failover_second() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if LAST.swap(now, Ordering::Relaxed) != now {
        metrics::counter!("seatwise_gateway_failover_seconds_total").increment(1);
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        metrics::counter!("seatwise_gateway_errors_total", "code" => self.code).increment(1);
        let mut r = (self.status, Json(Body { code: self.code, message: &self.message })).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}
