//! The public routes: a show's queue status, the seat map, the pass check.

use super::*;

// ---- Public queue status ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PublicSchedule {
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
    /// Since when the queue is paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    paused_since_ms: Option<u64>,
    /// Staff's latest announcement to this queue's buyers.
    #[serde(skip_serializing_if = "Option::is_none")]
    announcement: Option<seatwise_engine::Announcement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PublicShow {
    show_id: String,
    name: String,
    venue: String,
    status: String,
    schedules: Vec<PublicSchedule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sale_opens_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pre_queue_opens_at: Option<String>,
    /// The venue's look for the waiting page (the logo as a same-origin URL: no third-party request).
    #[serde(skip_serializing_if = "Option::is_none")]
    theme: Option<PublicTheme>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PublicTheme {
    #[serde(flatten)]
    theme: seatwise_engine::shows::Theme,
    /// `/v1/shows/{show}/logo` when the theme has a logo.
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_url: Option<String>,
}

pub(super) async fn show_queue(State(gw): Gw, Path(show): Path<String>) -> Result<Response, ApiError> {
    let show = ShowId::new(&show)?;
    let s = gw.public_status(&show).await?;
    let body = PublicShow {
        show_id: s.show_id.to_string(),
        name: s.name.clone(),
        venue: s.venue.clone(),
        status: s.status.to_string(),
        sale_opens_at: s.sale_opens_at.clone(),
        pre_queue_opens_at: s.pre_queue_opens_at.clone(),
        theme: s.theme.as_ref().map(|t| PublicTheme {
            logo_url: t.logo.as_ref().map(|_| format!("/v1/shows/{}/logo", s.show_id)),
            theme: seatwise_engine::shows::Theme { logo: None, ..t.clone() },
        }),
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
                paused_since_ms: q.stats.paused_since_ms,
                announcement: q.stats.announcement.clone(),
            })
            .collect(),
    };
    Ok(([(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=1"))], Json(body)).into_response())
}

/// The show's logo (its theme's), served here so the page makes no third-party request.
pub(super) async fn logo(
    State(gw): Gw,
    Path(show): Path<String>,
    ClientAddr(ip): ClientAddr,
) -> Result<Response, ApiError> {
    gw.check(Class::Seats, &ip, &Caller::NewBrowser).await?;
    let show = ShowId::new(&show)?;
    let s = gw.public_status(&show).await?;
    let Some((kind, bytes)) = s.theme.as_ref().and_then(|t| t.logo_image()) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("show {show} has no logo")));
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SeatsAnswerMap {
    rows: Vec<String>,
    seats_per_row: u32,
    /// Price zones by row (for the legend); empty = one price.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    zones: Vec<seatwise_engine::shows::PriceZone>,
    max_seats: u32,
    /// Held by a session or sold: not available now.
    taken: Vec<String>,
}

/// The schedule's seat map and the seats taken now (what the page's seat picker shows); the map is cached
/// like the public status, the seats taken are read once per call after the address's limit.
pub(super) async fn seats(
    State(gw): Gw,
    QueuePath(scope): QueuePath,
    ClientAddr(ip): ClientAddr,
) -> Result<Response, ApiError> {
    gw.check(Class::Seats, &ip, &Caller::NewBrowser).await?;
    let s = gw.public_show(&scope.show).await?;
    let schedule = schedule_of(&s, &scope)?;
    let map = schedule.seats();
    let taken = gw.engine.taken_seats(&scope).await?;
    let body = SeatsAnswerMap {
        rows: map.rows,
        seats_per_row: map.seats_per_row,
        zones: map.zones,
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
pub(super) struct VerifyAnswer {
    valid: bool,
    scope: String,
    ticket: String,
    expires_at_ms: u64,
}

/// Checks an admission pass for the venue's booking site: the signature and expiry (what an offline check
/// can see), then that the ticket is still admitted with a live session now (a pass outlives nothing:
/// leave, booking, staff removal, a session run out).
pub(super) async fn verify_pass(
    State(gw): Gw,
    ClientAddr(ip): ClientAddr,
    JsonOrDefault(b): JsonOrDefault<VerifyBody>,
) -> Result<Response, ApiError> {
    gw.check(Class::Verify, &ip, &Caller::NewBrowser).await?;
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
