//! Connecting, once for every face: the Ably client built from key text and options (the same defaults
//! and request ceiling in the CLI, the console and the gateway), and the "test connection" check (Redis
//! PING; Ably's clock and a token exchanged for the key).

use std::sync::Arc;

use seatwise_ably::{AblyConfig, AblyRest, ApiKey, Endpoint, TokenParams};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::redis_conn::{ConnectOptions, Redis};

/// Ably's request-per-second ceiling when none is given: the free plan's limit.
pub const DEFAULT_ABLY_MAX_RPS: f64 = 50.0;

/// How to build an Ably client. `Debug` never shows the key.
#[derive(Clone)]
pub struct AblyOptions {
    /// The API key as typed or saved: `appId.keyId:secret`.
    pub key: String,
    /// A non-production REST endpoint, `https://host[:port]` (or `http://` for a local stand-in).
    pub endpoint: Option<String>,
    /// Requests per second at most (0 = no ceiling).
    pub max_rps: f64,
    /// The `Ably-Agent` product token, e.g. `seatwise-cli/0.1.0`.
    pub agent: String,
    /// PEM of a private CA to trust for the endpoint (besides the system's trust store).
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for AblyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AblyOptions").field("endpoint", &self.endpoint).field("max_rps", &self.max_rps).finish()
    }
}

impl AblyOptions {
    pub fn new(key: &str, agent: &str) -> AblyOptions {
        AblyOptions {
            key: key.to_string(),
            endpoint: None,
            max_rps: DEFAULT_ABLY_MAX_RPS,
            agent: agent.to_string(),
            ca_pem: None,
        }
    }

    /// Checks the key and endpoint offline and builds the client. Errors never quote the key.
    pub fn build(&self) -> Result<Arc<AblyRest>> {
        let key = ApiKey::parse(&self.key).map_err(|e| Error::Invalid {
            what: "Ably API key",
            value: "(hidden)".into(),
            allowed: e.to_string(),
        })?;
        let mut cfg = AblyConfig::new(key);
        if let Some(ep) = self.endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            cfg.endpoint = Some(Endpoint::parse(ep).map_err(|e| Error::Invalid {
                what: "Ably endpoint",
                value: String::new(),
                allowed: e.to_string(),
            })?);
        }
        if !(self.max_rps >= 0.0 && self.max_rps.is_finite()) {
            return Err(Error::invalid(
                "Ably request ceiling",
                &self.max_rps.to_string(),
                "use 0 (no ceiling) or more requests per second",
            ));
        }
        cfg.max_requests_per_second = self.max_rps;
        cfg.ca_pem = self.ca_pem.clone();
        if !self.agent.is_empty() {
            cfg.agent = self.agent.clone();
        }
        Ok(Arc::new(AblyRest::new(cfg)?))
    }
}

/// One part of a connection check.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub message: String,
}

/// The result of "Test connection".
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ConnectionCheck {
    pub redis: Check,
    /// None when no Ably key is configured.
    pub ably: Option<Check>,
}

/// What a working Ably key showed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AblyCheck {
    pub key: String,
    pub ably_time: u64,
    /// Ably's clock minus ours, in ms.
    pub clock_skew_ms: i64,
    pub token_expires: u64,
}

/// Reads Ably's clock and exchanges a signed token request for a token: proves the key works.
pub async fn check_ably(ably: &AblyRest) -> Result<AblyCheck> {
    let time = ably.time().await.map_err(|e| Error::Ably(format!("could not be reached: {e}")))?;
    let req =
        ably.create_token_request(TokenParams { ttl_ms: Some(60_000), timestamp: Some(time), ..Default::default() });
    let tok = ably.request_token(&req).await.map_err(|e| Error::Ably(format!("refused the key: {e}")))?;
    Ok(AblyCheck {
        key: ably.key().hint(),
        ably_time: time,
        clock_skew_ms: time as i64 - chrono::Utc::now().timestamp_millis(),
        token_expires: tok.expires,
    })
}

/// Connects to Redis (PING) and, with a client, checks Ably. Each part says what happened on its own.
pub async fn check_connection(redis: &ConnectOptions, ably: Option<Result<Arc<AblyRest>>>) -> ConnectionCheck {
    let redis = match Redis::connect(redis).await {
        Ok(r) => Check { ok: true, message: format!("Redis answered PING at {}", r.label()) },
        Err(e) => Check { ok: false, message: e.to_string() },
    };
    let ably = match ably {
        None => None,
        Some(Err(e)) => Some(Check { ok: false, message: e.to_string() }),
        Some(Ok(a)) => Some(match check_ably(&a).await {
            Ok(c) => Check { ok: true, message: format!("Ably issued a token for key {}", c.key) },
            // The face names the part ("Ably: …"): the message does not repeat it.
            Err(Error::Ably(m)) => Check { ok: false, message: m },
            Err(e) => Check { ok: false, message: e.to_string() },
        }),
    };
    ConnectionCheck { redis, ably }
}
