//! Who is calling (docs/PROTOCOL.md, "Identity"; SECURITY.md):
//! - **server-to-server**: the venue's web app sends `Authorization: Bearer <service key>` and the buyer id
//!   it vouches for in `X-Seatwise-Buyer`;
//! - **browser-direct**: the gateway gives each browser a random buyer id in a signed, HttpOnly, Secure,
//!   SameSite=Strict `__Host-` cookie that carries its key id and when it was issued, and every later call
//!   carries it.
//!
//! Telling who calls is pure computation (no Redis): a refused caller costs nothing. A browser without a
//! valid cookie is a [`Caller::NewBrowser`]: only a join gives it an identity, after the address's limits.
//! Every ticket operation then checks in Redis that the ticket is that buyer's.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use hmac::Mac;
use seatwise_engine::BuyerId;
use seatwise_engine::gate::{KeyRing, now_ms};

use crate::error::ApiError;

/// The cookie's name on a gateway served over HTTPS (the `__Host-` prefix: Secure, Path=/, no Domain, so
/// no sibling site can set or shadow it).
pub const COOKIE: &str = "__Host-seatwise_buyer";
/// The cookie's name when `cookie_secure` is off (plain HTTP in development only: a `__Host-` cookie needs
/// Secure).
pub const COOKIE_INSECURE: &str = "seatwise_buyer";
pub const BUYER_HEADER: &str = "x-seatwise-buyer";
/// How long a browser identity lasts: the cookie's Max-Age, and checked by the gateway from the issue time
/// the cookie carries (a copied cookie does not live forever).
pub const COOKIE_SECS: u64 = 2 * 86_400;

/// Who a request comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The venue's web app (service key), acting for this buyer.
    Service(BuyerId),
    /// A browser with a valid identity cookie.
    Browser(BuyerId),
    /// A browser without a valid identity (none yet, expired, or forged).
    NewBrowser,
}

impl Caller {
    pub fn buyer(&self) -> Option<&BuyerId> {
        match self {
            Caller::Service(b) | Caller::Browser(b) => Some(b),
            Caller::NewBrowser => None,
        }
    }

    pub fn is_service(&self) -> bool {
        matches!(self, Caller::Service(_))
    }

    /// The buyer a ticket call acts for: a browser without an identity owns no ticket.
    pub fn owner(&self) -> Result<&BuyerId, ApiError> {
        self.buyer().ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "not_owner",
                "this ticket is not yours: the buyer identity cookie is missing or has expired (join again)",
            )
        })
    }
}

pub struct IdentityConfig {
    /// A keyed hash of the service key (compared with the one of the key presented).
    pub service_key: Option<[u8; 32]>,
    pub browser_direct: bool,
    pub cookie_keys: KeyRing,
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
    fn cookie_name(&self) -> &'static str {
        if self.cookie_secure { COOKIE } else { COOKIE_INSECURE }
    }

    /// Whether the call carries the venue's service key (for server-to-server calls that act on a pass,
    /// not for a named buyer).
    pub fn is_service_call(&self, headers: &HeaderMap) -> bool {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|a| a.to_str().ok()).and_then(|a| a.strip_prefix("Bearer "));
        given.is_some_and(|g| self.service_key.is_some_and(|k| k == secret_hash(g)))
    }

    /// Who calls, from the headers alone.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
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
            return Ok(Caller::Service(BuyerId::new(buyer).map_err(ApiError::from)?));
        }
        if !self.browser_direct {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this gateway serves the venue's web app only: call it with the service key",
            ));
        }
        Ok(self.buyer_in_cookie(headers, now_ms() / 1000).map_or(Caller::NewBrowser, Caller::Browser))
    }

    /// A new browser identity and the cookie that carries it.
    pub fn new_browser(&self) -> (BuyerId, HeaderValue) {
        let id: String = (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let buyer = BuyerId::new(&format!("web:{id}")).expect("a valid buyer id");
        let value = self.cookie_value(&buyer, now_ms() / 1000);
        let cookie = format!(
            "{}={value}; Path=/; Max-Age={COOKIE_SECS}; HttpOnly; SameSite=Strict{}",
            self.cookie_name(),
            if self.cookie_secure { "; Secure" } else { "" }
        );
        (buyer, HeaderValue::from_str(&cookie).expect("a cookie of safe characters"))
    }

    /// `<buyer>.<issued s>.<key id>.<signature>`.
    pub fn cookie_value(&self, buyer: &BuyerId, issued_s: u64) -> String {
        let body = format!("{buyer}.{issued_s}.{}", self.cookie_keys.id());
        let sig = self.cookie_keys.current().sign(&body);
        format!("{body}.{sig}")
    }

    /// The buyer of the first valid identity cookie (a stray or forged one before it does not hide it).
    pub fn buyer_in_cookie(&self, headers: &HeaderMap, now_s: u64) -> Option<BuyerId> {
        let name = self.cookie_name();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .filter_map(|part| part.trim().strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .find_map(|value| self.check_cookie(value, now_s))
    }

    /// A cookie value's buyer, when it was signed by one of the keys and has not expired.
    pub fn check_cookie(&self, value: &str, now_s: u64) -> Option<BuyerId> {
        let (body, sig) = value.rsplit_once('.')?;
        let mut parts = body.splitn(3, '.');
        let (buyer, issued, kid) = (parts.next()?, parts.next()?, parts.next()?);
        if !buyer.starts_with("web:") || !self.cookie_keys.get(kid)?.verify(body, sig) {
            return None;
        }
        let issued: u64 = issued.parse().ok()?;
        // Issued in the future (beyond clock skew between gateways) or too long ago: not valid.
        if issued > now_s + 300 || now_s >= issued + COOKIE_SECS {
            return None;
        }
        BuyerId::new(buyer).ok()
    }
}

/// The client's address for rate limits: the peer, or behind `proxy_hops` proxies that each append the
/// address they saw to `X-Forwarded-For`, the entry `proxy_hops` from the right (what the outermost proxy
/// saw; every entry left of it is the client's to choose). An IPv6 address counts by its /64 (one
/// subscriber's network), so choosing new addresses within it changes nothing.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, proxy_hops: usize) -> String {
    let ip = if proxy_hops == 0 {
        peer.map(|p| p.ip())
    } else {
        forwarded_for(headers, proxy_hops).or(peer.map(|p| p.ip()))
    };
    match ip {
        Some(ip) => bucket(ip),
        None => "unknown".into(),
    }
}

/// The address `hops` from the right of all `X-Forwarded-For` headers taken as one list; None when the
/// list is shorter (a request that did not come through every proxy) or that entry is not an address.
pub fn forwarded_for(headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let i = entries.len().checked_sub(hops)?;
    entries[i].parse::<IpAddr>().ok()
}

/// An address as the limits count it: IPv4 as itself, IPv6 by its /64 (IPv4-mapped IPv6 as the IPv4).
pub fn bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_client_address_is_counted_from_the_right_so_the_client_cannot_choose_it() {
        let peer: SocketAddr = "10.0.0.9:5000".parse().unwrap();
        let h = headers(&["6.6.6.6, 1.2.3.4"]);
        assert_eq!(client_ip(&h, Some(peer), 0), "10.0.0.9", "no proxy: the peer");
        assert_eq!(client_ip(&h, Some(peer), 1), "1.2.3.4", "one proxy: its entry, not the client's");
        assert_eq!(client_ip(&h, Some(peer), 2), "6.6.6.6");
        assert_eq!(client_ip(&h, Some(peer), 3), "10.0.0.9", "fewer entries than hops: the peer");
        let split = headers(&["6.6.6.6", "1.2.3.4"]);
        assert_eq!(client_ip(&split, Some(peer), 1), "1.2.3.4", "several headers are one list");
        assert_eq!(client_ip(&headers(&["junk"]), Some(peer), 1), "10.0.0.9");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket(c));
        assert_eq!(bucket("::ffff:1.2.3.4".parse().unwrap()), "1.2.3.4");
    }
}
