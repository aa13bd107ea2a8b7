//! The `/v1` handlers: parse and check the request, call the engine once, shape the answer. The routes,
//! bodies and answers are documented in `openapi.json` (served at `/v1/openapi.json`) and docs/PROTOCOL.md.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use seatwise_ably::TokenRequest;
use seatwise_engine::gate::{Challenge, Pass, now_ms};
use seatwise_engine::{BuyerId, SchedId, Schedule, Scope, SeatId, Show, ShowId, Ticket, TicketState, TicketStatus};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::identity::{Caller, client_ip};
use crate::{Class, Gateway};

type Gw = State<Arc<Gateway>>;
type Body = Result<Bytes, BytesRejection>;

mod door;
mod public;
mod tickets;

pub(crate) use public::VerifyBody;
pub use tickets::poll_after_ms;
pub(crate) use tickets::{JoinBody, SeatsBody};

pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every route of [`routes`] as (method, path): the test checks `openapi.json` against this list and every
/// entry against the router.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/shows/{show}/queue"),
    ("GET", "/v1/shows/{show}/logo"),
    ("POST", "/v1/queues/{show}/{sched}/challenge"),
    ("POST", "/v1/queues/{show}/{sched}/tickets"),
    ("GET", "/v1/queues/{show}/{sched}/tickets/{ticket}"),
    ("DELETE", "/v1/queues/{show}/{sched}/tickets/{ticket}"),
    ("POST", "/v1/queues/{show}/{sched}/tickets/{ticket}/holds"),
    ("POST", "/v1/queues/{show}/{sched}/tickets/{ticket}/release"),
    ("POST", "/v1/queues/{show}/{sched}/tickets/{ticket}/complete"),
    ("GET", "/v1/queues/{show}/{sched}/tickets/{ticket}/ably-token"),
    ("POST", "/v1/queues/{show}/{sched}/tickets/{ticket}/ably-token"),
    ("POST", "/v1/passes/verify"),
    ("POST", "/v1/passes/release"),
    ("GET", "/v1/door"),
    ("GET", "/v1/queues/{show}/{sched}/tickets/{ticket}/enter"),
    ("GET", "/v1/queues/{show}/{sched}/seats"),
    ("GET", "/v1/queues/{show}/{sched}/tickets/{ticket}/live"),
    ("GET", "/q/{show}/{sched}"),
    ("GET", "/page/{file}"),
];

pub fn routes() -> Router<Arc<Gateway>> {
    use public::*;
    use tickets::*;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/shows/{show}/queue", get(show_queue))
        .route("/v1/shows/{show}/logo", get(logo))
        .route("/v1/queues/{show}/{sched}/challenge", post(challenge))
        .route("/v1/queues/{show}/{sched}/tickets", post(join))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}", get(status).delete(leave))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/holds", post(hold))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/release", post(release))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/complete", post(complete))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/ably-token", get(ably_token).post(ably_token))
        .route("/v1/passes/verify", post(verify_pass))
        .route("/v1/passes/release", post(door::release_pass))
        .route("/v1/door", get(door::door))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/enter", get(door::enter))
        .route("/v1/queues/{show}/{sched}/seats", get(seats))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/live", get(live))
        .route("/q/{show}/{sched}", get(crate::page::waiting_room))
        .route("/page/{file}", get(crate::page::asset))
        .fallback(not_found)
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route; see /v1/openapi.json")
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(gw): Gw) -> Response {
    match gw.engine.redis().query::<String>(&redis::cmd("PING")).await {
        Ok(_) => "ready".into_response(),
        Err(_) => ApiError::unavailable().into_response(),
    }
}

pub async fn metrics(State(gw): Gw) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], gw.render_metrics()).into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The client address the limits count, for public routes that act for no buyer.
struct ClientAddr(String);

impl FromRequestParts<Arc<Gateway>> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, gw: &Arc<Gateway>) -> Result<Self, ApiError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(ClientAddr(client_ip(&parts.headers, peer, gw.config.proxy_hops)))
    }
}

/// Who calls and from where: the caller (service key, cookie, or a browser without an identity yet) and
/// the client address the limits count (docs/PROTOCOL.md, "Limits").
struct Who {
    caller: Caller,
    ip: String,
}

impl FromRequestParts<Arc<Gateway>> for Who {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, gw: &Arc<Gateway>) -> Result<Self, ApiError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(Who {
            caller: gw.identity.identify(&parts.headers)?,
            ip: client_ip(&parts.headers, peer, gw.config.proxy_hops),
        })
    }
}

/// A call on one ticket: the queue and ticket from the path, and the buyer the request acts for (a
/// browser without an identity owns no ticket: 403 before any work).
struct TicketCall {
    scope: Scope,
    ticket: Ticket,
    from: Who,
    buyer: BuyerId,
}

impl FromRequestParts<Arc<Gateway>> for TicketCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, gw: &Arc<Gateway>) -> Result<Self, ApiError> {
        let Path((show, sched, ticket)) = Path::<(String, String, String)>::from_request_parts(parts, gw)
            .await
            .map_err(|_| ApiError::bad_request("the path names a show, a schedule and a ticket"))?;
        let (scope, ticket) = (scope_of(&show, &sched)?, ticket_of(&ticket)?);
        let from = Who::from_request_parts(parts, gw).await?;
        let buyer = from.caller.owner()?.clone();
        Ok(TicketCall { scope, ticket, from, buyer })
    }
}

impl TicketCall {
    /// The call's limits (address, then buyer), before its work.
    async fn check(&self, gw: &Gateway, class: Class) -> Result<(), ApiError> {
        gw.check(class, &self.from.ip, &self.from.caller).await
    }
}

fn scope_of(show: &str, sched: &str) -> Result<Scope, ApiError> {
    Ok(Scope::new(ShowId::new(show)?, SchedId::new(sched)?))
}

fn ticket_of(t: &str) -> Result<Ticket, ApiError> {
    Ok(Ticket::parse(t)?)
}

/// A JSON body; an empty body is the type's default (axum's `Json` refuses an empty body, and answers
/// its rejections without our `{code, message}`).
pub struct JsonOrDefault<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for JsonOrDefault<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        json(Bytes::from_request(req, state).await).map(JsonOrDefault)
    }
}

/// The queue a path names: `/…/{show}/{sched}…`.
pub struct QueuePath(pub Scope);

impl<S: Send + Sync> FromRequestParts<S> for QueuePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((show, sched)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("the path names a show and a schedule"))?;
        Ok(QueuePath(scope_of(&show, &sched)?))
    }
}

/// A JSON body as [`JsonOrDefault`] reads it.
pub(crate) fn json<T: DeserializeOwned + Default>(body: Body) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is too large (at most 16 KiB)")
        } else {
            ApiError::bad_request("the request body could not be read")
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("the body is not the JSON expected: {e}")))
}

/// A buyer's answer (`Cache-Control: no-store` is the router's default: `lib.rs::router`).
fn answer<T: Serialize>(body: T) -> Response {
    Json(body).into_response()
}

/// What a buyer call needs of the queue's public figures (cached ≤ 1 s): 404 for a schedule the show lacks.
struct Settings {
    pow_bits: u32,
    likely_sold_out_rank: Option<u64>,
    /// The queue's figures as last read (≤ 1 s old): the estimate's inputs.
    stats: seatwise_engine::QueueStats,
}

async fn queue_settings(gw: &Gateway, scope: &Scope) -> Result<Settings, ApiError> {
    let s = gw.public_status(&scope.show).await?;
    let q = s.queue_statuses.iter().find(|q| q.sched_id == scope.sched).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("show {} has no schedule {}", scope.show, scope.sched),
        )
    })?;
    Ok(Settings {
        pow_bits: q.stats.pow_bits,
        likely_sold_out_rank: q.stats.likely_sold_out_rank,
        stats: q.stats.clone(),
    })
}

fn schedule_of<'a>(show: &'a Show, scope: &Scope) -> Result<&'a Schedule, ApiError> {
    show.schedules.iter().find(|x| x.id == scope.sched).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("show {} has no schedule {}", scope.show, scope.sched),
        )
    })
}
