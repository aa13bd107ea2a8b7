//! The venue's door's routes (crates/gateway/src/door.rs has the rules): the proxy's forward-auth check,
//! the waiting room's "continue to the booking site" step, and the booking site's early release.

use super::*;
use crate::door::{Verdict, door_answer};

/// `GET /v1/door`: asked by the proxy for every request to the protected site. 200 = let it through;
/// otherwise a redirect (302 for Caddy and Traefik; 401 with `X-Seatwise-Location` for nginx, which says so
/// with `X-Seatwise-Door: nginx`). No rate limit: the proxy is one address for every buyer, and a check is
/// one cached verification.
pub(super) async fn door(State(gw): Gw, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(cfg) = gw.config.door.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_door",
            "this gateway guards no site (seatwise serve --door FILE)",
        ));
    };
    let uri = ["x-forwarded-uri", "x-original-uri"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "the proxy must pass the original URI in X-Forwarded-Uri (Caddy, Traefik) or X-Original-URI (nginx)",
            )
        })?
        .to_string();
    let nginx = headers.get("x-seatwise-door").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"nginx"));
    let verdict = gw.door_verdict(&cfg, &uri, &headers).await;
    metrics::counter!("seatwise_gateway_door_total", "verdict" => if verdict == Verdict::Pass { "pass" } else { "redirect" })
        .increment(1);
    Ok(door_answer(verdict, nginx))
}

#[derive(Deserialize)]
pub(crate) struct EnterQuery {
    #[serde(rename = "return")]
    back: String,
}

/// `GET /v1/queues/{show}/{sched}/tickets/{ticket}/enter?return=<url>`: the waiting room's link to the
/// booking site once admitted. Sends the buyer back to `return` (only on the door's site) with the pass in
/// the URL, which the door turns into a cookie on the site's domain. Not admitted: back to the waiting
/// room.
pub(super) async fn enter(State(gw): Gw, c: TicketCall, Query(q): Query<EnterQuery>) -> Result<Response, ApiError> {
    c.check(&gw, Class::Status).await?;
    let Some(cfg) = gw.config.door.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_door",
            "this gateway guards no site (seatwise serve --door FILE)",
        ));
    };
    let site = format!("{}/", cfg.site.trim_end_matches('/'));
    if !q.back.starts_with(&site) || q.back.contains(['\r', '\n']) {
        return Err(ApiError::bad_request(format!("return must be a page of {}", cfg.site)));
    }
    let s = gw.engine.status_for(&c.scope, &c.ticket, Some(&c.buyer)).await?;
    let to = match (s.state, s.expires_at_ms) {
        (TicketState::Admitted, Some(exp)) => {
            let pass = Pass { scope: s.scope, ticket: s.ticket, exp, kid: String::new() }.sign(&gw.pass_key);
            let sep = if q.back.contains('?') { '&' } else { '?' };
            format!(
                "{}{sep}seatwise_pass={}",
                q.back,
                percent_encoding::utf8_percent_encode(&pass, percent_encoding::NON_ALPHANUMERIC)
            )
        }
        _ => format!("/q/{}/{}", c.scope.show, c.scope.sched),
    };
    let mut r = StatusCode::FOUND.into_response();
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&to).map_err(|_| ApiError::bad_request("return is not a valid URL"))?,
    );
    Ok(r)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseBody {
    #[serde(default)]
    pass: String,
}

#[derive(Serialize)]
pub(super) struct Released {
    /// The state the ticket was in (`admitted` when this released its session).
    was: TicketState,
}

/// `POST /v1/passes/release` (server-to-server, service key): the booking site says the buyer is done —
/// booked or gave up — so their session goes to the next buyer at once, not at its expiry. Idempotent.
pub(super) async fn release_pass(
    State(gw): Gw,
    headers: HeaderMap,
    JsonOrDefault(b): JsonOrDefault<ReleaseBody>,
) -> Result<Response, ApiError> {
    // The venue's server only; no per-address limit (it is one address for every buyer), and the pass
    // names the one ticket it may release.
    if !gw.identity.is_service_call(&headers) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "service_key_required",
            "releasing a pass is for the venue's server: call with Authorization: Bearer <service key>",
        ));
    }
    let p = Pass::verify(&gw.pass_key, &b.pass, now_ms())
        .map_err(|e| ApiError::new(StatusCode::FORBIDDEN, "invalid_pass", e.to_string()))?;
    let (scope, ticket) = (Scope::parse(&p.scope)?, Ticket::parse(&p.ticket)?);
    let was = gw.engine.leave(&scope, &ticket).await?;
    gw.door_forget(&p.ticket);
    Ok(answer(Released { was }))
}
