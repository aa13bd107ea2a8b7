//! The ticket routes: challenge, join, status, leave, seats held and booked, live updates.

use super::*;

// ---- Tickets ----

/// How long a page should wait before its next status call (docs/PROTOCOL.md, "Poll interval"); 0 = stop.
/// Presence is asked for only near the front: a waiting buyer polls again after half the soonest wait
/// they may have (`soonest_ms`, the estimate's 10th percentile), at least every 2 s near the front and at
/// most every half grace window (≤ 5 min) far back, so a page left open that misses its turn always comes
/// back within its grace window. Live events (Ably) do the rest.
pub fn poll_after_ms(state: TicketState, soonest_ms: Option<u64>, grace_ms: u64) -> u64 {
    let ceiling = (grace_ms / 2).clamp(MIN_POLL_MS, MAX_POLL_MS);
    match (state, soonest_ms) {
        (TicketState::Waiting, Some(soonest)) => (soonest / 2).clamp(MIN_POLL_MS, ceiling),
        // In a pre-queue or paused: nothing moves until the opening or the resume (the page also wakes at
        // the opening time and on the live event).
        (TicketState::Waiting, None) => ceiling,
        (TicketState::Admitted, _) => 15_000,
        _ => 0,
    }
}

/// The shortest and longest poll intervals a waiting page is told.
pub const MIN_POLL_MS: u64 = 2_000;
pub const MAX_POLL_MS: u64 = 300_000;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TicketAnswer {
    scope: String,
    ticket: String,
    state: TicketState,
    rank: u64,
    /// The wait's middle estimate: `etaRange.p50Ms` (one model for the number and the range).
    eta_ms: u64,
    /// Admitted: when the session ends. Missed: until when the buyer may come back.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
    paused: bool,
    /// Since when the queue is paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    paused_since_ms: Option<u64>,
    /// The latest announcement staff made to this queue's buyers.
    #[serde(skip_serializing_if = "Option::is_none")]
    announcement: Option<seatwise_engine::Announcement>,
    poll_after_ms: u64,
    /// The wait with its 10th–90th percentile range, from the measured outflow and drop-out rate;
    /// `guess` while nothing is measured yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    eta_range: Option<seatwise_engine::EtaRange>,
    /// Back after missing their turn: waiting ahead of the line.
    returned: bool,
    /// How long a buyer who misses their turn may come back (the schedule's grace window).
    grace_ms: u64,
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
    let eta_range = (s.state == TicketState::Waiting && !s.prequeue).then(|| q.stats.eta_range(s.rank));
    let moving = eta_range.filter(|_| !s.paused);
    TicketAnswer {
        poll_after_ms: poll_after_ms(s.state, moving.map(|r| r.p10_ms), q.stats.grace_ms),
        likely_sold_out,
        eta_ms: eta_range.map_or(0, |r| r.p50_ms),
        eta_range,
        prequeue: s.prequeue,
        scope: s.scope,
        ticket: s.ticket,
        state: s.state,
        rank: s.rank,
        expires_at_ms: s.expires_at_ms,
        paused: s.paused,
        paused_since_ms: q.stats.paused_since_ms.filter(|_| s.paused),
        announcement: q.stats.announcement.clone(),
        returned: s.returned,
        grace_ms: q.stats.grace_ms,
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
            gw.limit("new-buyer-ip", &from.ip, gw.config.limits.new_buyer_per_ip, crate::Outage::LocalCount).await?;
            let (b, c) = gw.identity.new_browser();
            // The new buyer's first join counts like any other.
            gw.limit("join-buyer", b.as_str(), gw.config.limits.join_per_buyer, crate::Outage::LocalCount).await?;
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
    fn the_front_polls_every_2_s_far_back_every_half_grace_window_at_most() {
        let grace = 600_000;
        // Near the front (the soonest wait a few seconds): every 2 s.
        assert_eq!(poll_after_ms(TicketState::Waiting, Some(1_000), grace), 2_000);
        // Half the soonest wait in between.
        assert_eq!(poll_after_ms(TicketState::Waiting, Some(60_000), grace), 30_000);
        // Far back: at most every half grace window, never more than 5 minutes apart.
        assert_eq!(poll_after_ms(TicketState::Waiting, Some(36_000_000), grace), 300_000);
        assert_eq!(poll_after_ms(TicketState::Waiting, Some(36_000_000), 120_000), 60_000);
        assert_eq!(poll_after_ms(TicketState::Waiting, Some(36_000_000), 3_600_000), MAX_POLL_MS);
        // Paused or in a pre-queue (nothing moves): the ceiling.
        assert_eq!(poll_after_ms(TicketState::Waiting, None, grace), 300_000);
        assert_eq!(poll_after_ms(TicketState::Admitted, None, grace), 15_000);
        assert_eq!(poll_after_ms(TicketState::Closed, None, grace), 0);
        assert_eq!(poll_after_ms(TicketState::Missed, None, grace), 0);
    }
}
