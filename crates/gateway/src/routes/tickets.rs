//! The ticket routes: challenge, join, status, leave, seats held and booked, live updates.

use super::*;

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
pub(super) struct TicketAnswer {
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

pub(super) fn ticket_answer(gw: &Gateway, s: TicketStatus, q: Settings) -> TicketAnswer {
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
pub(super) struct ChallengeAnswer {
    /// 0 = no challenge needed: join without one.
    bits: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
}

pub(super) async fn challenge(State(gw): Gw, QueuePath(scope): QueuePath, from: Who) -> Result<Response, ApiError> {
    gw.check(Class::Challenge, &from.ip, &from.caller).await?;
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

pub(super) async fn join(
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

pub(super) async fn status(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
    c.check(&gw, Class::Status).await?;
    let settings = queue_settings(&gw, &c.scope).await?;
    let s = gw.engine.status_for(&c.scope, &c.ticket, Some(&c.buyer)).await?;
    Ok(answer(ticket_answer(&gw, s, settings)))
}

#[derive(Serialize)]
pub(super) struct LeaveAnswer {
    /// The state the ticket was in.
    was: TicketState,
}

pub(super) async fn leave(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
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
pub(super) fn named_seats(b: &SeatsBody) -> Result<Vec<SeatId>, ApiError> {
    if b.seats.len() > MAX_SEATS_NAMED {
        return Err(ApiError::bad_request(format!("name at most {MAX_SEATS_NAMED} seats in one call")));
    }
    Ok(b.seats.iter().map(|s| SeatId::new(s)).collect::<seatwise_engine::Result<_>>()?)
}

/// The seats named, each checked against the schedule's seat map (the hold script checks again).
pub(super) async fn seat_ids(gw: &Gateway, scope: &Scope, b: &SeatsBody) -> Result<Vec<SeatId>, ApiError> {
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
pub(super) const MAX_SEATS_NAMED: usize = 50;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SeatsAnswer {
    seats: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
}

pub(super) async fn hold(
    State(gw): Gw,
    c: TicketCall,
    JsonOrDefault(b): JsonOrDefault<SeatsBody>,
) -> Result<Response, ApiError> {
    c.check(&gw, Class::Action).await?;
    let seats = seat_ids(&gw, &c.scope, &b).await?;
    let h = gw.engine.hold_for(&c.scope, &c.ticket, Some(&c.buyer), &seats).await?;
    Ok(answer(SeatsAnswer { seats: h.seats, expires_at_ms: Some(h.expires_at_ms) }))
}

pub(super) async fn release(
    State(gw): Gw,
    c: TicketCall,
    JsonOrDefault(b): JsonOrDefault<SeatsBody>,
) -> Result<Response, ApiError> {
    let seats = named_seats(&b)?;
    c.check(&gw, Class::Action).await?;
    let left = gw.engine.release_for(&c.scope, &c.ticket, Some(&c.buyer), &seats).await?;
    Ok(answer(SeatsAnswer { seats: left, expires_at_ms: None }))
}

pub(super) async fn complete(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
    c.check(&gw, Class::Action).await?;
    let sold = gw.engine.complete_for(&c.scope, &c.ticket, Some(&c.buyer)).await?;
    Ok(answer(SeatsAnswer { seats: sold, expires_at_ms: None }))
}

/// Ably's token request for the buyer's own live ticket: ably-js uses this route as its `authUrl`; a page
/// without ably-js posts the answer to Ably's `requestToken` for a token (docs/PROTOCOL.md).
pub(super) async fn ably_token(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
    c.check(&gw, Class::Live).await?;
    let (_, req) = token_request(&gw, &c).await?;
    Ok(answer(req))
}

/// The Ably client and a signed token request for the caller's own live ticket; 503 `no_realtime` when
/// this gateway has no Ably key.
pub(super) async fn token_request(
    gw: &Gateway,
    c: &TicketCall,
) -> Result<(Arc<seatwise_ably::AblyRest>, TokenRequest), ApiError> {
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
pub(super) struct LiveAnswer {
    /// Ably's SSE endpoint: open `EventSource(<sse>?v=1.2&channels=<channels joined by ,>&accessToken=<token>)`.
    sse: String,
    channels: Vec<String>,
    access_token: String,
    expires_at_ms: u64,
}

/// A token for Ably's SSE endpoint, for a page without ably-js: the gateway signs the buyer's token request
/// and exchanges it at Ably (`requestToken`), so the page needs one request and no Ably library.
pub(super) async fn live(State(gw): Gw, c: TicketCall) -> Result<Response, ApiError> {
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
