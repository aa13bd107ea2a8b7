//! Who is calling (docs/PROTOCOL.md, "Identity"):
//! - **server-to-server**: the venue's web app sends `Authorization: Bearer <service key>` and the buyer id
//!   it vouches for in `X-Seatwise-Buyer`;
//! - **browser-direct**: the gateway gives each browser a random buyer id in a signed, HttpOnly, Secure,
//!   SameSite=Strict cookie, and every later call carries it.
//!
//! Either way the gateway then acts for exactly one buyer, and every ticket operation checks in Redis that
//! the ticket is that buyer's.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use hmac::Mac;
use seatwise_engine::BuyerId;
use seatwise_engine::gate::SigningKey;

use crate::error::ApiError;

pub const COOKIE: &str = "seatwise_buyer";
pub const BUYER_HEADER: &str = "x-seatwise-buyer";
const COOKIE_DAYS: u64 = 2;

/// The buyer a request acts for, and the cookie to set when the gateway just gave the browser its identity.
pub struct Identity {
    pub buyer: BuyerId,
    pub set_cookie: Option<HeaderValue>,
    /// A trusted server (service key) made the call.
    pub service: bool,
}

pub struct IdentityConfig {
    /// A keyed hash of the service key (compared with the one of the key presented).
    pub service_key: Option<[u8; 32]>,
    pub browser_direct: bool,
    pub cookie_key: SigningKey,
    pub cookie_secure: bool,
}

/// A keyed hash of a secret: two secrets are compared by their hashes, so the comparison leaks nothing of
/// where they differ (nor their lengths).
pub fn secret_hash(s: &str) -> [u8; 32] {
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"seatwise-compare").expect("any key length");
    m.update(s.as_bytes());
    m.finalize().into_bytes().into()
}

impl IdentityConfig {
    pub fn identify(&self, headers: &HeaderMap) -> Result<Identity, ApiError> {
        if let Some(auth) = headers.get(header::AUTHORIZATION) {
            let given = auth.to_str().ok().and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
            let ok = self.service_key.is_some_and(|k| k == secret_hash(given));
            if !ok {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the service key is not valid (Authorization: Bearer <service key>)",
                ));
            }
            let buyer = headers.get(BUYER_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(|| {
                ApiError::bad_request("a service call names the buyer it acts for in the X-Seatwise-Buyer header")
            })?;
            let buyer = BuyerId::new(buyer).map_err(ApiError::from)?;
            return Ok(Identity { buyer, set_cookie: None, service: true });
        }
        if !self.browser_direct {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this gateway serves the venue's web app only: call it with the service key",
            ));
        }
        if let Some(buyer) = self.buyer_in_cookie(headers) {
            return Ok(Identity { buyer, set_cookie: None, service: false });
        }
        let id: String = (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let buyer = BuyerId::new(&format!("web:{id}")).expect("a valid buyer id");
        let cookie = format!(
            "{COOKIE}={buyer}.{}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
            self.cookie_key.sign(&buyer.to_string()),
            COOKIE_DAYS * 86_400,
            if self.cookie_secure { "; Secure" } else { "" }
        );
        let set_cookie = HeaderValue::from_str(&cookie).expect("a cookie of safe characters");
        Ok(Identity { buyer, set_cookie: Some(set_cookie), service: false })
    }

    fn buyer_in_cookie(&self, headers: &HeaderMap) -> Option<BuyerId> {
        for h in headers.get_all(header::COOKIE) {
            for part in h.to_str().ok()?.split(';') {
                let Some(value) = part.trim().strip_prefix(COOKIE).and_then(|v| v.strip_prefix('=')) else {
                    continue;
                };
                let (buyer, sig) = value.rsplit_once('.')?;
                if buyer.starts_with("web:") && self.cookie_key.verify(buyer, sig) {
                    return BuyerId::new(buyer).ok();
                }
            }
        }
        None
    }
}

/// The client's address: the peer, or with `trust_proxy` (behind the venue's load balancer) the first
/// address of `X-Forwarded-For`.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return ip.to_string();
    }
    peer.map(|p| p.ip().to_string()).unwrap_or_else(|| "unknown".into())
}
