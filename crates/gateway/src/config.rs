//! How a gateway runs: its [`Config`] (checked by [`Config::validate`]) and the rate [`Limits`] per kind of
//! call ([`Class`]).

use std::time::Duration;

use axum::http::HeaderValue;
use seatwise_engine::gate::KeyRing;

/// A fixed-window limit: at most `max` requests per `window_ms`; `max` 0 = no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: u64,
    pub window_ms: u64,
}

impl Limit {
    pub const OFF: Limit = Limit { max: 0, window_ms: 60_000 };

    pub const fn per_minute(max: u64) -> Limit {
        Limit { max, window_ms: 60_000 }
    }
}

/// The rate limits, held in Redis so they hold across every gateway on it. Each call is checked against
/// its address's limit (browsers only: the venue's server calls from one address for all its buyers),
/// then its buyer's, then it does its work; a refused call does no work (docs/PROTOCOL.md, "Limits").
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Joins and challenges.
    pub join_per_ip: Limit,
    pub join_per_buyer: Limit,
    /// New browser identities given out per address: a browser that drops its cookie is a new buyer, so
    /// this bounds how far the per-buyer limits can be dodged.
    pub new_buyer_per_ip: Limit,
    pub status_per_ip: Limit,
    pub status_per_buyer: Limit,
    /// Leave, hold, release, complete.
    pub action_per_ip: Limit,
    pub action_per_buyer: Limit,
    /// Ably tokens (`live`, `ably-token`): each may make a request to Ably.
    pub live_per_ip: Limit,
    pub live_per_buyer: Limit,
    /// The seat map with the seats taken.
    pub seats_per_ip: Limit,
    /// Online pass checks (the venue's checkout calls them from its servers).
    pub verify_per_ip: Limit,
}

impl Default for Limits {
    /// Generous per address (many buyers share one behind a venue's Wi-Fi or a mobile carrier), tight per
    /// buyer (a page polls at most every 2 s).
    fn default() -> Self {
        Limits {
            join_per_ip: Limit::per_minute(120),
            join_per_buyer: Limit::per_minute(10),
            new_buyer_per_ip: Limit::per_minute(60),
            status_per_ip: Limit::per_minute(3000),
            status_per_buyer: Limit::per_minute(90),
            action_per_ip: Limit::per_minute(600),
            action_per_buyer: Limit::per_minute(60),
            live_per_ip: Limit::per_minute(300),
            live_per_buyer: Limit::per_minute(12),
            seats_per_ip: Limit::per_minute(600),
            verify_per_ip: Limit::per_minute(6000),
        }
    }
}

impl Limits {
    pub const OFF: Limits = Limits {
        join_per_ip: Limit::OFF,
        join_per_buyer: Limit::OFF,
        new_buyer_per_ip: Limit::OFF,
        status_per_ip: Limit::OFF,
        status_per_buyer: Limit::OFF,
        action_per_ip: Limit::OFF,
        action_per_buyer: Limit::OFF,
        live_per_ip: Limit::OFF,
        live_per_buyer: Limit::OFF,
        seats_per_ip: Limit::OFF,
        verify_per_ip: Limit::OFF,
    };
}

/// The kinds of call the limits tell apart.
#[derive(Clone, Copy, Debug)]
pub enum Class {
    Join,
    /// Proof-of-work challenges: the join limits, counted apart from the joins (a join with proof of work
    /// is one challenge and one join).
    Challenge,
    Status,
    Action,
    Live,
    Seats,
    Verify,
}

impl Class {
    /// (rate-limit key kind, per address, per buyer).
    pub(crate) fn limits(self, l: &Limits) -> (&'static str, Limit, Limit) {
        match self {
            Class::Join => ("join", l.join_per_ip, l.join_per_buyer),
            Class::Challenge => ("challenge", l.join_per_ip, l.join_per_buyer),
            Class::Status => ("status", l.status_per_ip, l.status_per_buyer),
            Class::Action => ("action", l.action_per_ip, l.action_per_buyer),
            Class::Live => ("live", l.live_per_ip, l.live_per_buyer),
            Class::Seats => ("seats", l.seats_per_ip, Limit::OFF),
            Class::Verify => ("verify", l.verify_per_ip, Limit::OFF),
        }
    }

    /// What a limit does when the Redis node holding its counter cannot answer (docs/PROTOCOL.md, "Limits
    /// during an outage"): the calls that create work or tickets keep their limit from this gateway's own
    /// counter; the reads a waiting page makes pass (refusing them would only make buyers retry harder).
    pub fn on_outage(self) -> Outage {
        match self {
            Class::Join | Class::Challenge | Class::Action => Outage::LocalCount,
            Class::Status | Class::Live | Class::Seats | Class::Verify => Outage::Open,
        }
    }
}

/// A limit's rule while its Redis counter is unavailable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    /// Counted by this gateway alone, with the same limit and window (across N gateways a client may get
    /// up to N times the limit for the length of the outage).
    LocalCount,
    /// Not counted: the call passes.
    Open,
}

/// How a gateway runs. Secrets come from the environment or files (the CLI reads them), never from flags.
#[derive(Clone, Debug)]
pub struct Config {
    /// The venue web app's key for server-to-server calls; None = that mode is off.
    pub service_key: Option<String>,
    /// Give browsers their own identity in a cookie (browser-direct mode).
    pub browser_direct: bool,
    /// Origins allowed to call from a browser (CORS, with credentials); empty = same origin only.
    pub cors_origins: Vec<String>,
    /// How many proxies in front of the gateway append to `X-Forwarded-For` (0 = use the peer address).
    pub proxy_hops: usize,
    /// Mark the cookie Secure and name it `__Host-…` (browsers still send it to http://localhost).
    pub cookie_secure: bool,
    /// Signs cookies and challenges (and passes, when `pass_keys` is None). None = a random key of this
    /// process only: right for one gateway (the sandbox), wrong for several (`seatwise serve` requires
    /// one).
    pub gateway_keys: Option<KeyRing>,
    /// Signs admission passes (shared with the venue's booking site); None = derived from the gateway key.
    pub pass_keys: Option<KeyRing>,
    pub limits: Limits,
    /// How long the public queue status and seat maps are reused.
    pub public_cache: Duration,
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
    /// The longest a request may take, body included (408 after it).
    pub request_timeout: Duration,
    /// The longest a client may take to send a request's headers, and the longest a kept-alive
    /// connection may sit idle before its next request (the connection is closed after it).
    pub header_timeout: Duration,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Serve `/metrics` on the public listener too (off: serve it with [`serve_metrics`] on its own).
    pub public_metrics: bool,
    /// A waiting buyer is told the seats are likely gone when their rank exceeds the likely-sold-out
    /// rank × this (1.0 = as soon as the estimate says so; larger = only when surer).
    pub sold_out_margin: f64,
    /// The venue's door (forward-auth in front of its booking site); None = off (`/v1/door` answers 404).
    pub door: Option<std::sync::Arc<crate::door::DoorConfig>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            service_key: None,
            browser_direct: true,
            cors_origins: Vec::new(),
            proxy_hops: 0,
            cookie_secure: true,
            gateway_keys: None,
            pass_keys: None,
            limits: Limits::default(),
            public_cache: Duration::from_secs(1),
            max_body_bytes: 16 * 1024,
            max_header_bytes: 8 * 1024,
            request_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            public_metrics: false,
            sold_out_margin: 1.0,
            door: None,
        }
    }
}

impl Config {
    /// Checks the settings a deployment chooses, with what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        for o in &self.cors_origins {
            if o == "*" {
                return Err("--cors-origin '*': browsers' calls carry the buyer's cookie, which CORS never allows \
                            for every origin; name each origin (https://tickets.example.com)"
                    .into());
            }
            let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
            let ok = rest.is_some_and(|h| !h.is_empty() && !h.contains(['/', ' ', ',', '*']))
                && HeaderValue::from_str(o).is_ok();
            if !ok {
                return Err(format!(
                    "--cors-origin {o:?}: an origin is scheme://host[:port] with no path (https://tickets.example.com)"
                ));
            }
        }
        if self.proxy_hops > 10 {
            return Err(format!("--proxy-hops {}: 0 to 10 proxies in front of the gateway", self.proxy_hops));
        }
        if self.max_connections == 0 {
            return Err("--max-connections 0: at least 1".into());
        }
        if self.header_timeout.is_zero() || self.request_timeout.is_zero() {
            return Err("timeouts must be at least 1 second".into());
        }
        Ok(())
    }
}
