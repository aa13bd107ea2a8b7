//! Every parser a buyer's bytes reach, in one call: what the fuzz target (`fuzz/fuzz_targets/edge.rs`) and
//! the property tests (`tests/gateway/parsers.rs`) run on arbitrary input. Each must answer (a value or
//! an error) and never panic; nothing here touches Redis.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use seatwise_engine::gate::{Challenge, KeyRing, Pass};
use seatwise_engine::{BuyerId, SchedId, Scope, SeatId, ShowId, Ticket};

use crate::identity::{self, IdentityConfig};
use crate::routes::{JoinBody, SeatsBody, VerifyBody, json};

/// Runs every parser on `data` (as text where a parser takes text, split at NUL bytes where it takes
/// several parts).
pub fn exercise(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let (a, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let _ = (ShowId::new(a), SchedId::new(a), BuyerId::new(a), SeatId::new(a), Ticket::parse(a), Scope::parse(a));
    let keys = KeyRing::from_text("fuzz", "the fuzz target's key, 32+ characters", "").expect("a valid key");
    let _ = Pass::verify(&keys, a, 1);
    if let Ok(scope) = Scope::parse("s:d") {
        let _ = Challenge::verify(&keys, a, b, &scope, 0, 1);
    }
    let ids = IdentityConfig { service_key: None, browser_direct: true, cookie_keys: keys, cookie_secure: true };
    let _ = ids.check_cookie(a, 1);
    let mut h = HeaderMap::new();
    for (name, value) in
        [("cookie", a), ("x-forwarded-for", a), ("origin", b), ("sec-fetch-site", b), ("content-type", a)]
    {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.append(HeaderName::from_static(name), v);
        }
    }
    let _ = ids.buyer_in_cookie(&h, 1);
    let _ = ids.identify(&h);
    let _ = identity::client_ip(&h, None, 2);
    let _ = crate::check_same_site(&h, &[b.to_string()]);
    let body = || Ok(Bytes::copy_from_slice(data));
    let _ = json::<JoinBody>(body());
    let _ = json::<SeatsBody>(body());
    let _ = json::<VerifyBody>(body());
}
