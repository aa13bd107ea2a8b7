//! The REST client's request path in one file (~530 lines, on purpose): hosts and fallback hosts, retries,
//! pacing and the publish calls read top to bottom as the one path every request takes.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::seq::SliceRandom;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{AblyError, Error, Result};
use crate::key::ApiKey;
use crate::message::{BatchSpec, ChannelResult, Message, WireSpec, message_id_base};
use crate::token::{self, TokenDetails, TokenParams, TokenRequest};

const PRIMARY_HOST: &str = "main.realtime.ably.net";
const FALLBACK_HOSTS: [&str; 5] = [
    "main.a.fallback.ably-realtime.com",
    "main.b.fallback.ably-realtime.com",
    "main.c.fallback.ably-realtime.com",
    "main.d.fallback.ably-realtime.com",
    "main.e.fallback.ably-realtime.com",
];
/// The REST protocol version sent in X-Ably-Version (the one ably-js 2.x sends).
pub const PROTOCOL_VERSION: &str = "6";
/// Ably's limits on one batch publish request.
pub const MAX_BATCH_CHANNELS: usize = 100;
pub const MAX_BATCH_BODY: usize = 2 * 1024 * 1024;
/// How long a fallback host that worked stays preferred.
const FALLBACK_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Where Ably is: `https://host[:port]` or, for a local stand-in, `http://host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: Option<u16>,
    pub tls: bool,
}

/// Whether `host` (as written in a URL: `localhost`, `127.0.0.1`, `[::1]`) names this machine. Plain
/// `http://` is accepted only for such hosts, so a key or token never crosses a network in clear text.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Endpoint {
    /// Parses `https://host[:port]` (or `http://` for a server on this machine only). The error never
    /// repeats what was typed: a key pasted into the wrong field must not be printed back.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let bad = || {
            Error::Config(
                "the Ably endpoint is not a URL of the form https://host[:port] (or http:// for a test server on this machine)"
                    .into(),
            )
        };
        let url = url.trim();
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad());
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.contains('/') || rest.contains('@') || rest.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        // `[::1]` has colons of its own: a port follows only after the closing bracket.
        let port_part = if rest.ends_with(']') { None } else { rest.rsplit_once(':') };
        let (host, port) = match port_part {
            Some((h, p)) => (h.to_string(), Some(p.parse::<u16>().map_err(|_| bad())?)),
            None => (rest.to_string(), None),
        };
        if !tls && !is_loopback_host(&host) {
            return Err(Error::Config(format!(
                "plain http:// is allowed only for a server on this machine (localhost, 127.0.0.1, [::1]); use https://{host} for {host}"
            )));
        }
        Ok(Endpoint { host, port, tls })
    }

    fn base(&self, host: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        match (host.contains(':'), self.port) {
            (false, Some(p)) => format!("{scheme}://{host}:{p}"),
            _ => format!("{scheme}://{host}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct AblyConfig {
    pub key: ApiKey,
    /// None: Ably's production endpoint, with its fallback hosts.
    pub endpoint: Option<Endpoint>,
    /// Fallback hosts (`host` or `host:port`). None: Ably's five for production, none for an explicit
    /// endpoint (as the spec says).
    pub fallback_hosts: Option<Vec<String>>,
    /// One HTTP request's timeout.
    pub request_timeout: Duration,
    /// All tries of one call, retries included.
    pub total_timeout: Duration,
    /// Retries on other hosts after the first try.
    pub max_retries: usize,
    /// A ceiling on HTTP requests per second (Ably accounts have request-rate limits); 0 = none.
    pub max_requests_per_second: f64,
    /// Our entry of the Ably-Agent header.
    pub agent: String,
    /// PEM of extra CA certificate(s) to trust (an endpoint behind a venue's proxy with a private CA), on
    /// top of the operating system's trust store.
    pub ca_pem: Option<Vec<u8>>,
}

impl AblyConfig {
    pub fn new(key: ApiKey) -> AblyConfig {
        AblyConfig {
            key,
            endpoint: None,
            fallback_hosts: None,
            request_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(15),
            max_retries: 3,
            max_requests_per_second: 50.0,
            agent: format!("seatwise/{}", env!("CARGO_PKG_VERSION")),
            ca_pem: None,
        }
    }
}

/// Counters of what the client sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestStats {
    pub requests: u64,
    pub retries: u64,
}

pub struct AblyRest {
    http: reqwest::Client,
    cfg: AblyConfig,
    preferred: Mutex<Option<(String, Instant)>>,
    next_slot: tokio::sync::Mutex<tokio::time::Instant>,
    requests: AtomicU64,
    retries: AtomicU64,
}

impl std::fmt::Debug for AblyRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AblyRest({:?}, {:?})", self.cfg.key, self.cfg.endpoint)
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn encode_channel(name: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    utf8_percent_encode(name, SET).to_string()
}

/// Ably's rules for a channel name.
pub(crate) fn check_channel(name: &str) -> Result<()> {
    if name.is_empty() || name.starts_with('[') || name.starts_with(':') || name.contains('\n') {
        return Err(Error::Invalid(format!(
            "channel name {name:?}: it must not be empty, start with '[' or ':', or contain a newline"
        )));
    }
    Ok(())
}

struct Answer {
    status: u16,
    body: Vec<u8>,
    error_code: Option<String>,
    error_message: Option<String>,
}

impl Answer {
    fn error(&self) -> AblyError {
        #[derive(Deserialize)]
        struct Body {
            error: AblyError,
        }
        if let Ok(b) = serde_json::from_slice::<Body>(&self.body) {
            let mut e = b.error;
            if e.status_code == 0 {
                e.status_code = self.status;
            }
            return e;
        }
        let text = String::from_utf8_lossy(&self.body).chars().take(200).collect::<String>();
        AblyError {
            code: self.error_code.as_deref().and_then(|c| c.parse().ok()).unwrap_or(self.status as u32 * 100),
            status_code: self.status,
            message: self.error_message.clone().unwrap_or(if text.is_empty() {
                format!("HTTP {}", self.status)
            } else {
                text
            }),
            href: None,
        }
    }

    fn json(&self) -> Result<Value> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::Unreachable(format!("Ably sent a body that is not JSON: {e}")))
    }
}

impl AblyRest {
    pub fn new(cfg: AblyConfig) -> Result<AblyRest> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder().connect_timeout(cfg.request_timeout);
        if let Some(ca) = &cfg.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(ca)
                .map_err(|e| Error::Config(format!("the CA certificate is not valid PEM: {e}")))?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder.build().map_err(|e| Error::Config(format!("cannot set up HTTPS: {e}")))?;
        Ok(AblyRest {
            http,
            cfg,
            preferred: Mutex::new(None),
            next_slot: tokio::sync::Mutex::new(tokio::time::Instant::now()),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &AblyConfig {
        &self.cfg
    }

    /// The base URL a browser streams from (Ably's SSE endpoint lives on the primary host): the endpoint
    /// when one is set, else `https://main.realtime.ably.net`.
    pub fn streaming_base(&self) -> String {
        match &self.cfg.endpoint {
            Some(e) => e.base(&e.host),
            None => format!("https://{PRIMARY_HOST}"),
        }
    }

    pub fn key(&self) -> &ApiKey {
        &self.cfg.key
    }

    pub fn stats(&self) -> RequestStats {
        RequestStats { requests: self.requests.load(Ordering::Relaxed), retries: self.retries.load(Ordering::Relaxed) }
    }

    /// Base URLs in the order to try them: a recently working fallback first, then the primary, then
    /// the fallbacks in random order.
    fn hosts(&self) -> Vec<String> {
        let (endpoint, fallbacks): (Endpoint, Vec<String>) = match &self.cfg.endpoint {
            Some(e) => (e.clone(), self.cfg.fallback_hosts.clone().unwrap_or_default()),
            None => (
                Endpoint { host: PRIMARY_HOST.into(), port: None, tls: true },
                self.cfg
                    .fallback_hosts
                    .clone()
                    .unwrap_or_else(|| FALLBACK_HOSTS.iter().map(|s| s.to_string()).collect()),
            ),
        };
        let mut others: Vec<String> = fallbacks.iter().map(|h| endpoint.base(h)).collect();
        others.shuffle(&mut rand::rng());
        let primary = endpoint.base(&endpoint.host);
        let preferred = self
            .preferred
            .lock()
            .expect("not poisoned")
            .clone()
            .filter(|(_, since)| since.elapsed() < FALLBACK_RETRY_AFTER)
            .map(|(h, _)| h);
        let mut out: Vec<String> = preferred.iter().cloned().collect();
        out.extend(std::iter::once(primary).chain(others).filter(|h| Some(h) != preferred.as_ref()));
        out
    }

    /// Waits for this request's slot under the requests-per-second ceiling.
    async fn pace(&self) {
        let rps = self.cfg.max_requests_per_second;
        if rps <= 0.0 {
            return;
        }
        let gap = Duration::from_secs_f64(1.0 / rps);
        let slot = {
            let mut next = self.next_slot.lock().await;
            let now = tokio::time::Instant::now();
            let slot = (*next).max(now);
            *next = slot + gap;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Sends one call: on a network error, a timeout or HTTP 500–504 it retries on the next host, at
    /// most `max_retries` times and within `total_timeout`. The body (and so every message id) is the
    /// same on every try.
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Vec<u8>>, auth: bool) -> Result<Answer> {
        let start = Instant::now();
        let hosts = self.hosts();
        let primary = match &self.cfg.endpoint {
            Some(e) => e.base(&e.host),
            None => format!("https://{PRIMARY_HOST}"),
        };
        let mut last = Error::Unreachable("no host to try".into());
        for (i, base) in hosts.iter().take(1 + self.cfg.max_retries).enumerate() {
            let left = self.cfg.total_timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            if i > 0 {
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
            self.pace().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut req = self
                .http
                .request(method.clone(), format!("{base}{path}"))
                .timeout(self.cfg.request_timeout.min(left))
                .header("X-Ably-Version", PROTOCOL_VERSION)
                .header("Ably-Agent", format!("{} ably-rust-rest/{}", self.cfg.agent, env!("CARGO_PKG_VERSION")))
                .header("Accept", "application/json");
            if auth {
                req = req.header("Authorization", self.cfg.key.basic_auth());
            }
            if let Some(b) = &body {
                req = req.header("Content-Type", "application/json").body(b.clone());
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let header = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(String::from);
                    let (error_code, error_message) = (header("X-Ably-ErrorCode"), header("X-Ably-ErrorMessage"));
                    let body = match resp.bytes().await {
                        Ok(b) => b.to_vec(),
                        Err(e) => {
                            last = Error::Unreachable(format!("{base}: the answer was cut off ({})", describe(&e)));
                            continue;
                        }
                    };
                    let answer = Answer { status, body, error_code, error_message };
                    if (500..=504).contains(&status) {
                        last = Error::Ably(answer.error());
                        continue;
                    }
                    if *base != primary && i > 0 {
                        // A fallback answered after the hosts before it failed: prefer it for a while.
                        *self.preferred.lock().expect("not poisoned") = Some((base.clone(), Instant::now()));
                    }
                    return Ok(answer);
                }
                Err(e) => last = Error::Unreachable(format!("{base}: {}", describe(&e))),
            }
        }
        Err(last)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Vec<u8>>, auth: bool) -> Result<Value> {
        let a = self.send(method, path, body, auth).await?;
        if (200..300).contains(&a.status) { a.json() } else { Err(Error::Ably(a.error())) }
    }

    /// Ably's clock, in ms since the epoch.
    pub async fn time(&self) -> Result<u64> {
        let v = self.call(reqwest::Method::GET, "/time", None, false).await?;
        v.get(0).and_then(Value::as_u64).ok_or_else(|| Error::Unreachable(format!("unexpected /time answer: {v}")))
    }

    fn with_ids(messages: &[Message]) -> Result<Vec<Value>> {
        let base = if messages.iter().all(|m| m.id.is_none()) { Some(message_id_base()) } else { None };
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| match (&base, &m.id) {
                (Some(b), None) => m.clone().with_id(format!("{b}:{i}")).to_wire(),
                _ => m.to_wire(),
            })
            .collect()
    }

    /// Publishes messages to one channel. Messages without ids get `<random base>:<index>` ids, kept on
    /// every retry, so a retried publish is not duplicated.
    pub async fn publish(&self, channel: &str, messages: &[Message]) -> Result<()> {
        check_channel(channel)?;
        let body = serde_json::to_vec(&Self::with_ids(messages)?).expect("messages serialise");
        self.call(reqwest::Method::POST, &format!("/channels/{}/messages", encode_channel(channel)), Some(body), true)
            .await?;
        Ok(())
    }

    /// Publishes in one request (at most 100 distinct channels, body under 2 MiB). Returns the outcome
    /// per channel: a partial failure is not an error, the caller retries only the failed channels.
    pub async fn batch_publish(&self, specs: &[BatchSpec]) -> Result<Vec<ChannelResult>> {
        let channels: HashSet<&str> = specs.iter().flat_map(|s| s.channels.iter().map(String::as_str)).collect();
        if channels.len() > MAX_BATCH_CHANNELS {
            return Err(Error::Invalid(format!(
                "a batch publish names {} channels; Ably takes at most {MAX_BATCH_CHANNELS} per request",
                channels.len()
            )));
        }
        for c in &channels {
            check_channel(c)?;
        }
        let wire: Vec<WireSpec> = specs
            .iter()
            .map(|s| Ok(WireSpec { channels: s.channels.clone(), messages: Self::with_ids(&s.messages)? }))
            .collect::<Result<_>>()?;
        let body = serde_json::to_vec(&wire).expect("specs serialise");
        if body.len() >= MAX_BATCH_BODY {
            return Err(Error::Invalid(format!(
                "a batch publish body of {} bytes is over Ably's 2 MiB limit: split it",
                body.len()
            )));
        }
        let a = self.send(reqwest::Method::POST, "/messages", Some(body), true).await?;
        if (200..300).contains(&a.status) {
            return parse_batch_results(&a.json()?);
        }
        // The older answer to a partial failure: HTTP 400, code 40020, a per-channel batchResponse.
        let err = a.error();
        if err.code == 40020
            && let Ok(v) = a.json()
            && let Some(per) = v.get("batchResponse").and_then(Value::as_array)
        {
            return Ok(per.iter().filter_map(channel_result).collect());
        }
        Err(Error::Ably(err))
    }

    /// Signs a token request with the API key (no network).
    pub fn create_token_request(&self, params: TokenParams) -> TokenRequest {
        token::create(&self.cfg.key, params, now_ms())
    }

    /// Exchanges a signed token request for a token (`POST /keys/{keyName}/requestToken`).
    pub async fn request_token(&self, req: &TokenRequest) -> Result<TokenDetails> {
        let body = serde_json::to_vec(req).expect("a token request serialises");
        let path = format!("/keys/{}/requestToken", encode_channel(&req.key_name));
        let v = self.call(reqwest::Method::POST, &path, Some(body), false).await?;
        serde_json::from_value(v).map_err(|e| Error::Unreachable(format!("unexpected token answer: {e}")))
    }
}

fn describe(e: &reqwest::Error) -> String {
    // The causes, innermost last (a TLS failure names its reason there: e.g. UnknownIssuer).
    let mut chain = Vec::new();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        chain.push(inner.to_string());
        src = inner.source();
    }
    let tls = chain.iter().find(|c| c.contains("certificate") || c.contains("UnknownIssuer") || c.contains("tls"));
    if e.is_timeout() {
        "timed out".into()
    } else if let Some(t) = tls {
        format!(
            "the TLS connection failed ({t}); if the endpoint uses a private CA, give that CA (CLI: --ably-ca or SEATWISE_ABLY_CA; console: the profile's CA certificate)"
        )
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        // reqwest's Display names the URL (host and path only: the key travels in a header).
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s.push_str(&format!(": {inner}"));
            src = inner.source();
        }
        s
    }
}

fn channel_result(v: &Value) -> Option<ChannelResult> {
    let channel = v.get("channel")?.as_str()?.to_string();
    let outcome = match v.get("error") {
        Some(e) => Err(serde_json::from_value::<AblyError>(e.clone()).unwrap_or(AblyError {
            code: 50000,
            status_code: 500,
            message: e.to_string(),
            href: None,
        })),
        None => Ok(v.get("messageId").and_then(Value::as_str).unwrap_or_default().to_string()),
    };
    Some(ChannelResult { channel, outcome })
}

/// The current answer: one BatchResult per spec, `{successCount, failureCount, results: [...]}`.
fn parse_batch_results(v: &Value) -> Result<Vec<ChannelResult>> {
    let specs: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for s in specs {
        match s.get("results").and_then(Value::as_array) {
            Some(results) => out.extend(results.iter().filter_map(channel_result)),
            // The older answer lists {channel, messageId} directly.
            None => {
                out.push(channel_result(s).ok_or_else(|| Error::Unreachable(format!("unexpected batch answer: {s}")))?)
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(Endpoint::parse("http://127.0.0.1:8080").unwrap().base("127.0.0.1"), "http://127.0.0.1:8080");
        assert_eq!(Endpoint::parse("https://rest.ably.io/").unwrap().base("rest.ably.io"), "https://rest.ably.io");
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("https://user:pw@x").is_err());
    }

    #[test]
    fn channel_names_follow_ablys_rules() {
        assert!(check_channel("seatwise:queue:a:b").is_ok());
        for bad in ["", "[meta]x", ":x", "a\nb"] {
            assert!(check_channel(bad).is_err(), "{bad:?}");
        }
        assert_eq!(encode_channel("a:b/c d"), "a%3Ab%2Fc%20d");
    }
}
