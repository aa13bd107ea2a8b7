//! The `/v1` handlers: parse and check the request, call the engine once, shape the answer. The routes,
//! bodies and answers are documented in `openapi.json` (served at `/v1/openapi.json`) and docs/PROTOCOL.md.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
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

pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route of [`routes`] as (method, path): the test checks `openapi.json` against this list and every
/// entry against the router.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/shows/{show}/queue"),
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
    ("GET", "/v1/queues/{show}/{sched}/seats"),
    ("GET", "/v1/queues/{show}/{sched}/tickets/{ticket}/live"),
    ("GET", "/q/{show}/{sched}"),
    ("GET", "/page/{file}"),
];

pub fn routes() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/shows/{show}/queue", get(show_queue))
        .route("/v1/queues/{show}/{sched}/challenge", post(challenge))
        .route("/v1/queues/{show}/{sched}/tickets", post(join))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}", get(status).delete(leave))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/holds", post(hold))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/release", post(release))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/complete", post(complete))
        .route("/v1/queues/{show}/{sched}/tickets/{ticket}/ably-token", get(ably_token).post(ably_token))
        .route("/v1/passes/verify", post(verify_pass))
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

// ---- Public queue status ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicSchedule {
    sched_id: String,
    starts_at: String,
    time_zone: String,
    state: seatwise_engine::QueueState,
    queue_size: u64,
    active_sessions: u64,
    capacity: u64,
    estimated_wait_ms: u64,
    pow_bits: u32,
    /// The pre-queue draw's SHA-256 commitment, the seed once revealed, and how many were drawn.
    #[serde(skip_serializing_if = "String::is_empty")]
    draw_commit: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    draw_seed: String,
    draw_count: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicShow {
    show_id: String,
    name: String,
    venue: String,
    status: String,
    schedules: Vec<PublicSchedule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sale_opens_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pre_queue_opens_at: Option<String>,
}

async fn show_queue(State(gw): Gw, Path(show): Path<String>) -> Result<Response, ApiError> {
    let show = ShowId::new(&show)?;
    let s = gw.public_status(&show).await?;
    let body = PublicShow {
        show_id: s.show_id.to_string(),
        name: s.name.clone(),
        venue: s.venue.clone(),
        status: s.status.to_string(),
        sale_opens_at: s.sale_opens_at.clone(),
        pre_queue_opens_at: s.pre_queue_opens_at.clone(),
        schedules: s
            .queue_statuses
            .iter()
            .map(|q| PublicSchedule {
                sched_id: q.sched_id.to_string(),
                starts_at: q.starts_at.clone(),
                time_zone: q.time_zone.clone(),
                state: q.stats.state,
                queue_size: q.stats.queue_size,
                active_sessions: q.stats.active_sessions,
                capacity: q.stats.capacity,
                estimated_wait_ms: q.stats.estimated_wait_time,
                pow_bits: q.stats.pow_bits,
                draw_commit: q.stats.draw_commit.clone(),
                draw_seed: q.stats.draw_seed.clone(),
                draw_count: q.stats.draw_count,
            })
            .collect(),
    };
    Ok(([(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=1"))], Json(body)).into_response())
}

/// The queue's public settings a buyer call needs (cached ≤ 1 s): 404 for a schedule the show lacks.
/// What a buyer call needs of the queue's public figures.
struct Settings {
    pow_bits: u32,
    abandon_ms: u64,
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
        abandon_ms: q.stats.abandon_ms,
        likely_sold_out_rank: q.stats.likely_sold_out_rank,
        stats: q.stats.clone(),
    })
}

// ---- Tickets ----

/// How long a page should wait before its next status call (docs/PROTOCOL.md, "Poll interval"): buyers far
/// from the front poll less often; every waiting buyer still polls at least three times per abandonment
/// window; 0 = stop polling.
pub fn poll_after_ms(state: TicketState, rank: u64, abandon_ms: u64) -> u64 {
    match state {
        TicketState::Waiting => {
            let ceiling = (abandon_ms / 3).clamp(2_000, 30_000);
            (rank.saturating_mul(20)).clamp(2_000, ceiling)
        }
        TicketState::Admitted => 15_000,
        _ => 0,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TicketAnswer {
    scope: String,
    ticket: String,
    state: TicketState,
    rank: u64,
    eta_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
    paused: bool,
    poll_after_ms: u64,
    /// The wait with its 10th–90th percentile range, from the measured outflow and drop-out rate (the
    /// design guide's `etaMs` = rank × average service time is kept as it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    eta_range: Option<seatwise_engine::EtaRange>,
    /// The seats left will very likely be gone before this buyer's turn.
    likely_sold_out: bool,
    /// In the pre-queue: the place is drawn at the sale's opening.
    prequeue: bool,
    /// The admission pass for the booking site, while admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pass: Option<String>,
}

fn ticket_answer(gw: &Gateway, s: TicketStatus, q: Settings) -> TicketAnswer {
    // Told when the seats left will very likely be gone before this buyer's turn (a margin > 1 tells later).
    let likely_sold_out = s.state == TicketState::Waiting
        && q.likely_sold_out_rank.is_some_and(|n| s.rank as f64 > n as f64 * gw.config.sold_out_margin);
    let pass = match (s.state, s.expires_at_ms) {
        (TicketState::Admitted, Some(exp)) => {
            Some(Pass { scope: s.scope.clone(), ticket: s.ticket.clone(), exp, kid: String::new() }.sign(&gw.pass_key))
        }
        _ => None,
    };
    TicketAnswer {
        poll_after_ms: poll_after_ms(s.state, s.rank, q.abandon_ms),
        likely_sold_out,
        eta_range: (s.state == TicketState::Waiting && !s.prequeue).then(|| q.stats.eta_range(s.rank)),
        prequeue: s.prequeue,
        scope: s.scope,
        ticket: s.ticket,
        state: s.state,
        rank: s.rank,
        eta_ms: s.eta_ms,
        expires_at_ms: s.expires_at_ms,
        paused: s.paused,
        pass,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChallengeAnswer {
    /// 0 = no challenge needed: join without one.
    bits: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
}

async fn challenge(State(gw): Gw, QueuePath(scope): QueuePath, from: Who) -> Result<Response, ApiError> {
    gw.check(Class::Join, &from.ip, &from.caller).await?;
    let bits = queue_settings(&gw, &scope).await?.pow_bits;
    let body = if bits == 0 {
        ChallengeAnswer { bits, challenge: None, expires_at_ms: None }
    } else {
        let (c, text) = Challenge::issue(&gw.key, &scope, bits, now_ms());
        ChallengeAnswer { bits, challenge: Some(text), expires_at_ms: Some(c.expires_ms) }
    };
    Ok(answer(body))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct JoinBody {
    challenge: Option<String>,
    solution: Option<String>,
}

async fn join(
    State(gw): Gw,
    QueuePath(scope): QueuePath,
    from: Who,
    JsonOrDefault(body): JsonOrDefault<JoinBody>,
) -> Result<Response, ApiError> {
    // Address, then buyer (a browser without an identity: the address's new identities), then the work.
    gw.check(Class::Join, &from.ip, &from.caller).await?;
    let (buyer, set_cookie) = match from.caller.buyer() {
        Some(b) => (b.clone(), None),
        None => {
            gw.limit("new-buyer-ip", &from.ip, gw.config.limits.new_buyer_per_ip).await?;
            let (b, c) = gw.identity.new_browser();
            // The new buyer's first join counts like any other.
            gw.limit("join-buyer", b.as_str(), gw.config.limits.join_per_buyer).await?;
            (b, Some(c))
        }
    };
    let settings = queue_settings(&gw, &scope).await?;
    if settings.pow_bits > 0 {
        let (Some(text), Some(solution)) = (&body.challenge, &body.solution) else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "challenge_required",
                format!(
                    "this queue asks for a proof of work ({} bits): POST …/challenge, solve it, join with {{challenge, solution}}",
                    settings.pow_bits
                ),
            ));
        };
        if !gw.engine.redeem_challenge(&gw.key, text, solution, &scope, settings.pow_bits).await? {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "challenge_used",
                "this challenge was already used; ask for a new one",
            ));
        }
    }
    let s = gw.joiner.join(&gw.engine, &scope, buyer.clone()).await?;
    metrics::counter!("seatwise_gateway_joins_total").increment(1);
    tracing::debug!(buyer = %gw.key.current().pseudonym(buyer.as_str()), scope = %scope, "joined");
    let mut r = answer(ticket_answer(&gw, s, settings));
    if let Some(c) = set_cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(r)
}

async fn status(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
    c.check(&gw, Class::Status).await?;
    let settings = queue_settings(&gw, &c.scope).await?;
    let s = gw.engine.status_for(&c.scope, &c.ticket, Some(&c.buyer)).await?;
    Ok(answer(ticket_answer(&gw, s, settings)))
}

#[derive(Serialize)]
struct LeaveAnswer {
    /// The state the ticket was in.
    was: TicketState,
}

async fn leave(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
    c.check(&gw, Class::Action).await?;
    let was = gw.engine.leave_for(&c.scope, &c.ticket, Some(&c.buyer)).await?;
    Ok(answer(LeaveAnswer { was }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeatsBody {
    #[serde(default)]
    seats: Vec<String>,
}

/// The seats a body names: at most [`MAX_SEATS_NAMED`], each a well-formed seat id.
fn named_seats(b: &SeatsBody) -> Result<Vec<SeatId>, ApiError> {
    if b.seats.len() > MAX_SEATS_NAMED {
        return Err(ApiError::bad_request(format!("name at most {MAX_SEATS_NAMED} seats in one call")));
    }
    Ok(b.seats.iter().map(|s| SeatId::new(s)).collect::<seatwise_engine::Result<_>>()?)
}

/// The seats named, each checked against the schedule's seat map (the hold script checks again).
async fn seat_ids(gw: &Gateway, scope: &Scope, b: &SeatsBody) -> Result<Vec<SeatId>, ApiError> {
    let ids = named_seats(b)?;
    let show = gw.public_show(&scope.show).await?;
    let map = schedule_of(&show, scope)?.seats();
    let unknown: Vec<String> = ids.iter().filter(|s| !map.contains(s.as_str())).map(|s| s.to_string()).collect();
    if !unknown.is_empty() {
        return Err(seatwise_engine::Error::NoSuchSeat(unknown).into());
    }
    Ok(ids)
}

/// The most seats one hold or release may name (far above any session's max_seats).
const MAX_SEATS_NAMED: usize = 50;

fn schedule_of<'a>(show: &'a Show, scope: &Scope) -> Result<&'a Schedule, ApiError> {
    show.schedules.iter().find(|x| x.id == scope.sched).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("show {} has no schedule {}", scope.show, scope.sched),
        )
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeatsAnswer {
    seats: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
}

async fn hold(State(gw): Gw, c: TicketCall, JsonOrDefault(b): JsonOrDefault<SeatsBody>) -> Result<Response, ApiError> {
    c.check(&gw, Class::Action).await?;
    let seats = seat_ids(&gw, &c.scope, &b).await?;
    let h = gw.engine.hold_for(&c.scope, &c.ticket, Some(&c.buyer), &seats).await?;
    Ok(answer(SeatsAnswer { seats: h.seats, expires_at_ms: Some(h.expires_at_ms) }))
}

async fn release(
    State(gw): Gw,
    c: TicketCall,
    JsonOrDefault(b): JsonOrDefault<SeatsBody>,
) -> Result<Response, ApiError> {
    let seats = named_seats(&b)?;
    c.check(&gw, Class::Action).await?;
    let left = gw.engine.release_for(&c.scope, &c.ticket, Some(&c.buyer), &seats).await?;
    Ok(answer(SeatsAnswer { seats: left, expires_at_ms: None }))
}

async fn complete(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
    c.check(&gw, Class::Action).await?;
    let sold = gw.engine.complete_for(&c.scope, &c.ticket, Some(&c.buyer)).await?;
    Ok(answer(SeatsAnswer { seats: sold, expires_at_ms: None }))
}

/// Ably's token request for the buyer's own live ticket: ably-js uses this route as its `authUrl`; a page
/// without ably-js posts the answer to Ably's `requestToken` for a token (docs/PROTOCOL.md).
async fn ably_token(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
    c.check(&gw, Class::Live).await?;
    let (_, req) = token_request(&gw, &c).await?;
    Ok(answer(req))
}

/// The Ably client and a signed token request for the caller's own live ticket; 503 `no_realtime` when
/// this gateway has no Ably key.
async fn token_request(gw: &Gateway, c: &TicketCall) -> Result<(Arc<seatwise_ably::AblyRest>, TokenRequest), ApiError> {
    let Some(ably) = &gw.ably else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_realtime",
            "live updates are not configured on this gateway; keep polling the ticket status",
        ));
    };
    let req = gw.engine.buyer_token_request(ably, &c.scope, &c.ticket, &c.buyer, None, None, None).await?;
    Ok((ably.clone(), req))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LiveAnswer {
    /// Ably's SSE endpoint: open `EventSource(<sse>?v=1.2&channels=<channels joined by ,>&accessToken=<token>)`.
    sse: String,
    channels: Vec<String>,
    access_token: String,
    expires_at_ms: u64,
}

/// A token for Ably's SSE endpoint, for a page without ably-js: the gateway signs the buyer's token request
/// and exchanges it at Ably (`requestToken`), so the page needs one request and no Ably library.
async fn live(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
    c.check(&gw, Class::Live).await?;
    let (ably, req) = token_request(&gw, &c).await?;
    let token = ably.request_token(&req).await.map_err(|e| {
        tracing::warn!(error = %e, "Ably refused or could not be reached for a buyer token");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_realtime", "live updates are unavailable; keep polling")
    })?;
    let channels = vec![
        seatwise_engine::notify::queue_channel(&c.scope),
        seatwise_engine::notify::ticket_channel(&c.scope, &c.ticket.to_string()),
    ];
    let body = LiveAnswer {
        sse: format!("{}/sse", ably.streaming_base()),
        channels,
        access_token: token.token,
        expires_at_ms: token.expires,
    };
    Ok(answer(body))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeatsAnswerMap {
    rows: Vec<String>,
    seats_per_row: u32,
    max_seats: u32,
    /// Held by a session or sold: not available now.
    taken: Vec<String>,
}

/// The schedule's seat map and the seats taken now (what the page's seat picker shows); the map is cached
/// like the public status, the seats taken are read once per call after the address's limit.
async fn seats(State(gw): Gw, QueuePath(scope): QueuePath, from: Who) -> Result<Response, ApiError> {
    gw.check(Class::Seats, &from.ip, &Caller::NewBrowser).await?;
    let s = gw.public_show(&scope.show).await?;
    let schedule = schedule_of(&s, &scope)?;
    let map = schedule.seats();
    let taken = gw.engine.taken_seats(&scope).await?;
    let body = SeatsAnswerMap {
        rows: map.rows,
        seats_per_row: map.seats_per_row,
        max_seats: schedule.settings().max_seats,
        taken,
    };
    Ok(answer(body))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBody {
    #[serde(default)]
    pass: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyAnswer {
    valid: bool,
    scope: String,
    ticket: String,
    expires_at_ms: u64,
}

/// Checks an admission pass for the venue's booking site: the signature and expiry (what an offline check
/// can see), then that the ticket is still admitted with a live session now (a pass outlives nothing:
/// leave, booking, staff removal, a session run out).
async fn verify_pass(
    State(gw): Gw,
    from: Who,
    JsonOrDefault(b): JsonOrDefault<VerifyBody>,
) -> Result<Response, ApiError> {
    gw.check(Class::Verify, &from.ip, &Caller::NewBrowser).await?;
    let invalid = |why: String| ApiError::new(StatusCode::FORBIDDEN, "invalid_pass", why);
    let p = Pass::verify(&gw.pass_key, &b.pass, now_ms()).map_err(|e| invalid(e.to_string()))?;
    let (scope, ticket) = (Scope::parse(&p.scope)?, Ticket::parse(&p.ticket)?);
    let Some(until) = gw.engine.admitted_until(&scope, &ticket).await? else {
        return Err(invalid(
            "this pass's session has ended: the buyer left, booked, was removed or ran out of time".into(),
        ));
    };
    Ok(answer(VerifyAnswer { valid: true, scope: p.scope, ticket: p.ticket, expires_at_ms: until }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_buyers_poll_less_often_but_always_within_the_abandonment_window() {
        let a = 120_000;
        assert_eq!(poll_after_ms(TicketState::Waiting, 1, a), 2_000);
        assert_eq!(poll_after_ms(TicketState::Waiting, 500, a), 10_000);
        assert_eq!(poll_after_ms(TicketState::Waiting, 1_000_000, a), 30_000);
        assert_eq!(poll_after_ms(TicketState::Waiting, 1_000_000, 30_000), 10_000);
        assert_eq!(poll_after_ms(TicketState::Closed, 0, a), 0);
    }
}
