//! The venue's door: forward-auth for a reverse proxy in front of the venue's booking site — nginx
//! (`auth_request`), Caddy (`forward_auth`), Traefik (`ForwardAuth`). The proxy asks `GET /v1/door` for each
//! request to the protected site, passing the original URI (`X-Forwarded-Uri`, or `X-Original-URI`) and
//! the buyer's cookies. Admitted buyers (a valid pass for that path's queue, with a live session) pass;
//! everyone else is sent to the waiting room of the queue the path belongs to; static assets, allow-listed
//! paths and paths no queue protects pass freely. docs/INTEGRATION.md shows the three proxies' settings.
//!
//! The pass reaches the site once in the URL (`?seatwise_pass=…`, from the waiting room's "continue"
//! link), and the door answers that request with a redirect to the same URL without it, setting the
//! `seatwise_pass` cookie on the site's own domain.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use seatwise_engine::gate::{Pass, now_ms};
use seatwise_engine::{Scope, Ticket};

use crate::Gateway;

/// The cookie (on the protected site's domain) and query parameter that carry the pass.
pub const PASS_COOKIE: &str = "seatwise_pass";

/// How long the door trusts an online check of a pass (the session's liveness) before asking Redis again.
const CHECK_FOR: Duration = Duration::from_secs(1);

/// What the door protects (`seatwise serve --door FILE`, JSON, camelCase).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DoorConfig {
    /// Path prefixes of the site and the queue (`<showId>:<schedId>`) each belongs to; the longest prefix
    /// wins.
    pub protect: Vec<Protected>,
    /// Paths that pass freely: `"/"` is the home page alone; any other entry is a prefix.
    #[serde(default)]
    pub allow: Vec<String>,
    /// File extensions that pass freely (static assets).
    #[serde(default = "default_assets")]
    pub assets: Vec<String>,
    /// The waiting room as buyers reach it (this gateway's public origin), e.g. `https://queue.venue.example`.
    pub waiting_room: String,
    /// The protected site's origin, e.g. `https://tickets.venue.example`: where admitted buyers are sent
    /// back to (never anywhere else).
    pub site: String,
    /// When Redis cannot say whether a pass is live: `open` lets pass holders through on the signature
    /// alone, `closed` sends everyone to the waiting room.
    pub when_unavailable: WhenUnavailable,
    /// Mark the pass cookie `Secure` (leave on for an https site).
    #[serde(default = "yes")]
    pub secure_cookie: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Protected {
    pub path: String,
    pub queue: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenUnavailable {
    Open,
    Closed,
}

fn default_assets() -> Vec<String> {
    ["css", "js", "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "woff", "woff2", "map"].map(String::from).to_vec()
}

fn yes() -> bool {
    true
}

impl DoorConfig {
    /// Parses and checks a door file; the error says what is wrong and what is allowed.
    pub fn parse(text: &str) -> Result<DoorConfig, String> {
        let c: DoorConfig = serde_json::from_str(text).map_err(|e| format!("the door file is not valid: {e}"))?;
        let origin = |what: &str, v: &str| {
            let ok = (v.starts_with("https://") || v.starts_with("http://"))
                && !v.trim_end_matches('/').contains(['?', '#', '@'])
                && v.split('/').count() == 3;
            if ok { Ok(()) } else { Err(format!("{what} {v:?}: give an origin like https://tickets.venue.example")) }
        };
        origin("waitingRoom", &c.waiting_room)?;
        origin("site", &c.site)?;
        if c.protect.is_empty() {
            return Err("protect: name at least one path and its queue, e.g. {\"path\": \"/book/\", \"queue\": \"hamlet-2026:fri\"}".into());
        }
        for p in &c.protect {
            if !p.path.starts_with('/') {
                return Err(format!("protect path {:?}: a path starts with /", p.path));
            }
            Scope::parse(&p.queue).map_err(|e| format!("protect queue {:?}: {e}", p.queue))?;
        }
        Ok(c)
    }

    /// The queue a path belongs to, or None when it passes freely.
    fn queue_of(&self, path: &str) -> Option<&Protected> {
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        if ext.is_some_and(|e| self.assets.contains(&e)) {
            return None;
        }
        if self.allow.iter().any(|a| if a == "/" { path == "/" } else { under(path, a) }) {
            return None;
        }
        self.protect.iter().filter(|p| under(path, &p.path)).max_by_key(|p| p.path.len())
    }
}

/// Whether `path` is `prefix` or below it (`/book` covers `/book/x` but not `/booking`).
fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || (path.starts_with(prefix)
            && (prefix.ends_with('/') || path.as_bytes().get(prefix.len()).is_some_and(|b| matches!(b, b'/' | b'?'))))
}

/// What the door decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    /// Send the browser here, setting this cookie (a pass arriving in the URL).
    Redirect {
        to: String,
        cookie: Option<String>,
    },
}

/// Online checks remembered for [`CHECK_FOR`]: ticket -> (when, live).
#[derive(Default)]
pub struct Checked(Mutex<HashMap<String, (Instant, bool)>>);

impl Gateway {
    /// The door's decision for one request to the protected site (`uri`: path and query).
    pub(crate) async fn door_verdict(&self, cfg: &DoorConfig, uri: &str, headers: &HeaderMap) -> Verdict {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let Some(protected) = cfg.queue_of(path) else { return Verdict::Pass };
        let scope = Scope::parse(&protected.queue).expect("checked by DoorConfig::parse");
        let from_url = query.split('&').find_map(|kv| kv.strip_prefix("seatwise_pass=")).map(decode);
        let rest: Vec<&str> =
            query.split('&').filter(|kv| !kv.is_empty() && !kv.starts_with("seatwise_pass=")).collect();
        let clean = if rest.is_empty() { path.to_string() } else { format!("{path}?{}", rest.join("&")) };
        let waiting = || {
            let back = format!("{}{clean}", cfg.site.trim_end_matches('/'));
            Verdict::Redirect {
                to: format!(
                    "{}/q/{}/{}?return={}",
                    cfg.waiting_room.trim_end_matches('/'),
                    scope.show,
                    scope.sched,
                    percent_encoding::utf8_percent_encode(&back, percent_encoding::NON_ALPHANUMERIC)
                ),
                cookie: None,
            }
        };
        if let Some(pass) = from_url {
            return match self.pass_live(cfg, &scope, &pass).await {
                Some(exp) => Verdict::Redirect {
                    to: format!("{}{clean}", cfg.site.trim_end_matches('/')),
                    cookie: Some(format!(
                        "{PASS_COOKIE}={pass}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                        exp.saturating_sub(now_ms()) / 1000,
                        if cfg.secure_cookie { "; Secure" } else { "" }
                    )),
                },
                None => waiting(),
            };
        }
        let held = cookie(headers, PASS_COOKIE)
            .or_else(|| headers.get("x-seatwise-pass").and_then(|v| v.to_str().ok()).map(String::from));
        match held {
            Some(pass) if self.pass_live(cfg, &scope, &pass).await.is_some() => Verdict::Pass,
            _ => waiting(),
        }
    }

    /// The pass's session end when it is a valid pass for `scope` whose session is live (checked online,
    /// remembered for a second); when Redis cannot answer, `whenUnavailable` decides.
    async fn pass_live(&self, cfg: &DoorConfig, scope: &Scope, text: &str) -> Option<u64> {
        let p = Pass::verify(&self.pass_key, text, now_ms()).ok()?;
        if p.scope != scope.to_string() {
            return None;
        }
        if let Some((at, live)) = self.door_checked.0.lock().expect("lock").get(&p.ticket).copied()
            && at.elapsed() < CHECK_FOR
        {
            return live.then_some(p.exp);
        }
        let ticket = Ticket::parse(&p.ticket).ok()?;
        let live = match self.engine.admitted_until(scope, &ticket).await {
            Ok(until) => until.is_some(),
            Err(e) => {
                metrics::counter!("seatwise_gateway_door_unavailable_total").increment(1);
                tracing::warn!(error = %e, "the door could not check a pass online: whenUnavailable decides");
                return (cfg.when_unavailable == WhenUnavailable::Open).then_some(p.exp);
            }
        };
        let mut c = self.door_checked.0.lock().expect("lock");
        if c.len() >= 100_000 {
            c.clear();
        }
        c.insert(p.ticket.clone(), (Instant::now(), live));
        live.then_some(p.exp)
    }

    /// Forgets what the door remembered of a ticket (it was released).
    pub(crate) fn door_forget(&self, ticket: &str) {
        self.door_checked.0.lock().expect("lock").remove(ticket);
    }
}

fn decode(v: &str) -> String {
    percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// The answer in the proxy's dialect: nginx's `auth_request` understands only 2xx and 401/403, so it gets
/// 401 with the target in `X-Seatwise-Location` (and the cookie in `X-Seatwise-Set-Cookie`) for its
/// `error_page` to redirect; Caddy and Traefik pass a non-2xx answer to the browser as it is: a 302.
pub(crate) fn door_answer(v: Verdict, nginx: bool) -> Response {
    let mut r = match v {
        Verdict::Pass => return StatusCode::OK.into_response(),
        // A JSON body like every error of the gateway (and so the error layer keeps the headers).
        Verdict::Redirect { .. } if nginx => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"code": "not_admitted", "message": "not admitted: go to the waiting room"})),
        )
            .into_response(),
        Verdict::Redirect { .. } => StatusCode::FOUND.into_response(),
    };
    if let Verdict::Redirect { to, cookie } = v {
        let h = r.headers_mut();
        let (loc, set) = if nginx {
            (
                header::HeaderName::from_static("x-seatwise-location"),
                header::HeaderName::from_static("x-seatwise-set-cookie"),
            )
        } else {
            (header::LOCATION, header::SET_COOKIE)
        };
        if let Ok(v) = HeaderValue::from_str(&to) {
            h.insert(loc, v);
        }
        if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(set, c);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DoorConfig {
        DoorConfig::parse(
            r#"{"protect": [{"path": "/book/", "queue": "s1:d1"}, {"path": "/book/gala", "queue": "s1:d2"}],
                "allow": ["/", "/about"], "waitingRoom": "https://queue.example", "site": "https://tickets.example",
                "whenUnavailable": "closed"}"#,
        )
        .unwrap()
    }

    #[test]
    fn paths_map_to_their_queue_and_assets_and_allowed_paths_pass() {
        let c = cfg();
        assert_eq!(c.queue_of("/book/hamlet").map(|p| p.queue.as_str()), Some("s1:d1"));
        assert_eq!(c.queue_of("/book/gala/seats").map(|p| p.queue.as_str()), Some("s1:d2"));
        assert!(c.queue_of("/book/app.css").is_none());
        assert!(c.queue_of("/").is_none());
        assert!(c.queue_of("/about/team").is_none());
        assert!(c.queue_of("/aboutus").is_none(), "not under /about: not protected either");
        assert!(c.queue_of("/booking").is_none(), "/book/ does not cover /booking");
    }

    #[test]
    fn a_bad_door_file_says_what_is_wrong() {
        let e = DoorConfig::parse(r#"{"protect": [], "waitingRoom": "https://q.example", "site": "https://t.example", "whenUnavailable": "open"}"#).unwrap_err();
        assert!(e.contains("at least one path"), "{e}");
        let e = DoorConfig::parse(r#"{"protect": [{"path": "/b", "queue": "x"}], "waitingRoom": "https://q.example", "site": "https://t.example/x?y", "whenUnavailable": "open"}"#).unwrap_err();
        assert!(e.contains("origin"), "{e}");
        let e = DoorConfig::parse(r#"{"protect": [{"path": "/b", "queue": "x"}], "waitingRoom": "https://q.example", "site": "https://t.example", "whenUnavailable": "maybe"}"#).unwrap_err();
        assert!(e.contains("open") || e.contains("variant"), "{e}");
    }
}
