//! A local stand-in for Ably's REST API, used only by tests and benchmarks (Ably is a hosted service this
//! machine cannot reach). It follows Ably's documented behaviour strictly for the subset Seatwise uses:
//! `GET /time`, `POST /channels/{name}/messages`, batch `POST /messages` (≤ 100 channels, < 2 MiB, a
//! result per channel), `POST /keys/{keyName}/requestToken` (mac, timestamp window, nonce reuse), Basic
//! and Bearer auth, idempotent message ids (repeats within 2 minutes are dropped), the 64 KiB message
//! limit, and error bodies with their `X-Ably-Error*` headers. Tests inject failures: HTTP errors,
//! dropped connections, hangs, per-channel batch failures, and a fixed latency per request.
//!
//! It also serves Ably's SSE streaming endpoint (`GET /sse`, `GET /event-stream`; see `sse.rs`): what is
//! published through the REST side reaches the streams' subscribers.
//!
//! Why one file of ~630 lines: it is the stand-in's whole REST surface (routes, token checks, limits,
//! failure injection) next to the provider's documented rules it follows; the SSE endpoint is `sse.rs`.

mod sse;

use std::collections::{HashMap, HashSet, VecDeque};
use tokio_util::task::AbortOnDropHandle;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{Value, json};
use sha2::Sha256;

const MAX_MESSAGE: usize = 64 * 1024;
const MAX_BODY: usize = 2 * 1024 * 1024;
const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(120);

/// A failure to inject into the next request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this HTTP status and an Ably error body.
    Status(u16),
    /// Close the connection without answering.
    Drop,
    /// Wait this long before answering (longer than the client's timeout = a timeout).
    Hang(Duration),
}

#[derive(Clone, Debug)]
pub struct Config {
    /// API keys accepted: (`appId.keyId`, secret).
    pub keys: Vec<(String, String)>,
    /// Added to every request.
    pub latency: Duration,
    /// Answer partial batch failures the older way (HTTP 400, code 40020, `batchResponse`).
    pub legacy_batch: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keys: vec![("testapp.testkey".into(), "test-secret-not-real".into())],
            latency: Duration::ZERO,
            legacy_batch: false,
        }
    }
}

/// A message as a subscriber would receive it.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    pub name: String,
    /// Decoded: JSON data (encoding "json") as a value, a plain string as a string.
    pub data: Value,
    pub id: Option<String>,
}

/// What the stand-in saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub version: Option<String>,
    pub agent: Option<String>,
    pub authorization: Option<String>,
}

struct Token {
    expires: u64,
    capability: Value,
}

/// A message as stored for streaming: its place in the stand-in's one stream (the SSE event id), its
/// channel, and the data exactly as published.
#[derive(Clone, Debug)]
struct Event {
    serial: u64,
    channel: String,
    name: String,
    raw: String,
    encoding: Option<String>,
    id: Option<String>,
    timestamp: u64,
}

#[derive(Default)]
struct State {
    channels: Mutex<HashMap<String, Vec<Received>>>,
    seen_ids: Mutex<HashMap<(String, String), Instant>>,
    faults: Mutex<VecDeque<Fault>>,
    channel_faults: Mutex<HashMap<String, u32>>,
    nonces: Mutex<HashSet<String>>,
    tokens: Mutex<HashMap<String, Token>>,
    log: Mutex<Vec<Seen>>,
    requests: AtomicU64,
    last_purge: Mutex<Option<Instant>>,
    /// Share of requests (0.0 to 1.0) answered 503 before being looked at.
    fail_ratio: Mutex<f64>,
    /// Messages received again with an id already accepted (dropped by the idempotency rule).
    duplicates: AtomicU64,
    /// Every message accepted, in order, for the SSE streams.
    events: Mutex<Vec<Event>>,
    /// Wakes the SSE streams when a message is accepted.
    published: tokio::sync::Notify,
    /// Bumped by [`StandIn::cut_streams`]: every open stream ends.
    cuts: AtomicU64,
    /// SSE streams open now.
    streams: AtomicU64,
    /// SSE streams opened with `lastEvent` / `Last-Event-ID` (clients resuming after a drop).
    resumes: AtomicU64,
}

pub struct StandIn {
    addr: SocketAddr,
    https: bool,
    cfg: Arc<Config>,
    state: Arc<State>,
    /// The server's task, stopped when the stand-in is dropped.
    _task: AbortOnDropHandle<()>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl StandIn {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start(cfg: Config) -> StandIn {
        Self::start_inner(cfg, None).await
    }

    /// Starts serving HTTPS with this certificate chain and key (PEM): an Ably endpoint behind a venue's
    /// proxy with a private CA. [`StandIn::url`] is then `https://localhost:<port>`.
    pub async fn start_tls(cfg: Config, cert_pem: &str, key_pem: &str) -> StandIn {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certs =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>().expect("PEM certs");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("a PEM key");
        let tls =
            rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key).expect("TLS config");
        Self::start_inner(cfg, Some(tokio_rustls::TlsAcceptor::from(Arc::new(tls)))).await
    }

    async fn start_inner(cfg: Config, tls: Option<tokio_rustls::TlsAcceptor>) -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        let https = tls.is_some();
        let (cfg, state) = (Arc::new(cfg), Arc::new(State::default()));
        let (c, s) = (cfg.clone(), state.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (c, s, tls) = (c.clone(), s.clone(), tls.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(c.clone(), s.clone(), req));
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = http.serve_connection(hyper_util::rt::TokioIo::new(stream), svc).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(hyper_util::rt::TokioIo::new(stream), svc).await;
                        }
                    }
                });
            }
        });
        StandIn { addr, https, cfg, state, _task: AbortOnDropHandle::new(task) }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        if self.https { format!("https://localhost:{}", self.addr.port()) } else { format!("http://{}", self.addr) }
    }

    /// The first configured key, `appId.keyId:secret`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.cfg.keys[0].0, self.cfg.keys[0].1)
    }

    pub fn inject(&self, fault: Fault) {
        self.state.faults.lock().unwrap().push_back(fault);
    }

    /// The next `times` publishes to `channel` in a batch fail (HTTP 500 in that channel's result).
    pub fn fail_channel(&self, channel: &str, times: u32) {
        self.state.channel_faults.lock().unwrap().insert(channel.to_string(), times);
    }

    /// From now on, answer this share of requests (0.0 to 1.0, at random) with HTTP 503 before reading
    /// them: Ably failing part of the time. Nothing of a refused request is stored.
    pub fn fail_ratio(&self, ratio: f64) {
        *self.state.fail_ratio.lock().unwrap() = ratio.clamp(0.0, 1.0);
    }

    /// Messages published again with an id Ably had already accepted (each one a buyer told twice, had it
    /// come after the 2-minute idempotency window).
    pub fn duplicates(&self) -> u64 {
        self.state.duplicates.load(Ordering::Relaxed)
    }

    /// Ends every open SSE stream at once (a dropped connection): clients reconnect and resume.
    pub fn cut_streams(&self) {
        self.state.cuts.fetch_add(1, Ordering::SeqCst);
        self.state.published.notify_waiters();
    }

    /// SSE streams open now.
    pub fn open_streams(&self) -> u64 {
        self.state.streams.load(Ordering::SeqCst)
    }

    /// SSE streams opened to resume after an event (`lastEvent` or `Last-Event-ID`).
    pub fn resumed_streams(&self) -> u64 {
        self.state.resumes.load(Ordering::SeqCst)
    }

    /// Messages accepted on a channel (repeats of an id within 2 minutes are not stored twice).
    pub fn messages(&self, channel: &str) -> Vec<Received> {
        self.state.channels.lock().unwrap().get(channel).cloned().unwrap_or_default()
    }

    /// Every channel with at least one message.
    pub fn channels(&self) -> Vec<String> {
        let mut v: Vec<String> = self.state.channels.lock().unwrap().keys().cloned().collect();
        v.sort();
        v
    }

    pub fn message_count(&self) -> usize {
        self.state.channels.lock().unwrap().values().map(Vec::len).sum()
    }

    /// HTTP requests received, failed ones included.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.log.lock().unwrap().clone()
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;
type Answer = Result<Response<Body>, std::io::Error>;

fn boxed(r: Response<Full<Bytes>>) -> Response<Body> {
    r.map(|b| b.map_err(|never| match never {}).boxed())
}
/// An error answer, boxed (a response is large).
type Refusal = Box<Response<Full<Bytes>>>;

fn error(status: u16, code: u32, message: &str) -> Response<Full<Bytes>> {
    let body = json!({"error": {"code": code, "statusCode": status, "message": message,
                                "href": format!("https://help.ably.io/error/{code}")}});
    let mut r = ok(status, body);
    // Ably repeats the error in headers (for clients that cannot read the body).
    let h = r.headers_mut();
    h.insert("X-Ably-ErrorCode", code.into());
    h.insert("X-Ably-ErrorMessage", hyper::header::HeaderValue::from_str(message).expect("a header-safe message"));
    r
}

/// A JSON answer with this status.
fn ok(status: u16, v: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    r
}

async fn handle(cfg: Arc<Config>, st: Arc<State>, req: Request<Incoming>) -> Answer {
    st.requests.fetch_add(1, Ordering::Relaxed);
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(String::from);
    let seen = Seen {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        version: header("X-Ably-Version"),
        agent: header("Ably-Agent"),
        authorization: header("Authorization"),
    };
    st.log.lock().unwrap().push(seen.clone());
    if !cfg.latency.is_zero() {
        tokio::time::sleep(cfg.latency).await;
    }
    let fault = st.faults.lock().unwrap().pop_front();
    let ratio = *st.fail_ratio.lock().unwrap();
    let fault = fault.or_else(|| (ratio > 0.0 && rand::random::<f64>() < ratio).then_some(Fault::Status(503)));
    match fault {
        Some(Fault::Status(s)) => return Ok(boxed(error(s, s as u32 * 100, "injected failure"))),
        Some(Fault::Drop) => return Err(std::io::Error::other("injected: connection dropped")),
        Some(Fault::Hang(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let (method, path) = (seen.method.clone(), seen.path.clone());
    let wants_stream = header("Accept").is_some_and(|a| a.contains("text/event-stream"));
    if method == "GET" && (path == "/sse" || (path == "/event-stream" && wants_stream)) {
        let query = req.uri().query().unwrap_or("").to_string();
        return Ok(sse::stream(&cfg, st.clone(), &query, header("Last-Event-ID")));
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(boxed(error(400, 40000, "could not read the request body"))),
    };
    Ok(boxed(route(&cfg, &st, &method, &path, seen.authorization.as_deref(), &body)))
}

fn route(cfg: &Config, st: &State, method: &str, path: &str, auth: Option<&str>, body: &[u8]) -> Response<Full<Bytes>> {
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["time"]) => ok(200, json!([now_ms()])),
        ("POST", ["channels", ch, "messages"]) => {
            let ch = decode(ch);
            if let Err(r) = authorise(cfg, st, auth, Some(&ch)) {
                return *r;
            }
            if body.len() > MAX_BODY {
                return error(413, 40009, "request body too large");
            }
            let msgs = match one_or_many(body, "a message or an array of messages") {
                Ok(m) => m,
                Err(r) => return *r,
            };
            match store(st, &ch, &msgs) {
                Ok(id) => ok(201, json!({"channel": ch, "messageId": id})),
                Err(r) => *r,
            }
        }
        ("POST", ["messages"]) => {
            if let Err(r) = authorise(cfg, st, auth, None) {
                return *r;
            }
            batch(cfg, st, body)
        }
        ("POST", ["keys", key_name, "requestToken"]) => request_token(cfg, st, &decode(key_name), body),
        _ => error(404, 40400, &format!("no route for {method} {path}")),
    }
}

fn authorise(cfg: &Config, st: &State, auth: Option<&str>, channel: Option<&str>) -> Result<(), Refusal> {
    let Some(auth) = auth else {
        return Err(error(401, 40101, "no credentials: use Basic auth with an API key or a Bearer token").into());
    };
    if let Some(b64) = auth.strip_prefix("Basic ") {
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).unwrap_or_default();
        let text = String::from_utf8_lossy(&raw);
        let good = text.split_once(':').is_some_and(|(n, s)| cfg.keys.iter().any(|(kn, ks)| kn == n && ks == s));
        return if good { Ok(()) } else { Err(error(401, 40101, "invalid credentials").into()) };
    }
    if let Some(token) = auth.strip_prefix("Bearer ") {
        let tokens = st.tokens.lock().unwrap();
        let Some(t) = tokens.get(token) else { return Err(error(401, 40101, "invalid token").into()) };
        if t.expires <= now_ms() {
            return Err(error(401, 40142, "token expired").into());
        }
        let allowed = channel.is_some_and(|ch| permits(&t.capability, ch, "publish"));
        return if allowed {
            Ok(())
        } else {
            Err(error(401, 40160, "action not permitted by the token's capability").into())
        };
    }
    Err(error(401, 40101, "unsupported authorization scheme").into())
}

/// Whether a token's capability allows `op` on channel `ch` (`*` resources and trailing-`*` patterns).
fn permits(capability: &Value, ch: &str, op: &str) -> bool {
    capability.as_object().is_some_and(|caps| {
        caps.iter().any(|(res, ops)| {
            let matches = res == "*" || res == ch || res.strip_suffix('*').is_some_and(|p| ch.starts_with(p));
            matches && ops.as_array().is_some_and(|o| o.iter().any(|x| x == op || x == "*"))
        })
    })
}

/// Validates and stores messages on a channel; returns the message id prefix.
fn store(st: &State, ch: &str, msgs: &[Value]) -> Result<String, Refusal> {
    if ch.is_empty() || ch.starts_with('[') || ch.starts_with(':') || ch.contains('\n') {
        return Err(error(400, 40010, "invalid channel name").into());
    }
    let mut decoded = Vec::new();
    for m in msgs {
        let Some(o) = m.as_object() else { return Err(error(400, 40013, "a message must be an object").into()) };
        for k in o.keys() {
            if !["name", "data", "id", "clientId", "encoding", "extras"].contains(&k.as_str()) {
                return Err(error(400, 40013, &format!("unexpected message field {k}")).into());
            }
        }
        let name = o.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let raw = match o.get("data") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(error(
                    400,
                    40013,
                    "message data must be a string (encode objects as JSON text with encoding \"json\")",
                )
                .into());
            }
        };
        let data = match o.get("encoding").and_then(Value::as_str) {
            None => Value::String(raw.clone()),
            Some("json") => match serde_json::from_str(&raw) {
                Ok(v) => v,
                Err(_) => return Err(error(400, 40013, "data is not valid JSON for encoding \"json\"").into()),
            },
            Some(other) => return Err(error(400, 40013, &format!("unsupported encoding {other}")).into()),
        };
        let size = name.len() + raw.len() + o.get("clientId").and_then(Value::as_str).map_or(0, str::len);
        if size > MAX_MESSAGE {
            return Err(error(400, 40009, "maximum message length exceeded").into());
        }
        let id = o.get("id").and_then(Value::as_str).map(String::from);
        if let Some(id) = &id {
            let good = id.rsplit_once(':').is_some_and(|(b, i)| !b.is_empty() && i.parse::<u32>().is_ok());
            if !good {
                return Err(error(400, 40013, "message id must be <base>:<index>").into());
            }
        }
        let encoding = o.get("encoding").and_then(Value::as_str).map(String::from);
        decoded.push((Received { name, data, id }, raw, encoding));
    }
    let mut seen = st.seen_ids.lock().unwrap();
    {
        // Forget ids older than the window now and then (not on every message: that would be quadratic).
        let mut last = st.last_purge.lock().unwrap();
        if last.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
            seen.retain(|_, t| t.elapsed() < IDEMPOTENCY_WINDOW);
            *last = Some(Instant::now());
        }
    }
    let mut channels = st.channels.lock().unwrap();
    let list = channels.entry(ch.to_string()).or_default();
    let mut first_id = None;
    let mut events = st.events.lock().unwrap();
    for (m, raw, encoding) in decoded {
        if let Some(id) = &m.id {
            first_id.get_or_insert_with(|| id.rsplit_once(':').map_or(id.clone(), |(b, _)| b.to_string()));
            if seen.insert((ch.to_string(), id.clone()), Instant::now()).is_some() {
                st.duplicates.fetch_add(1, Ordering::Relaxed);
                continue; // a repeat within the idempotency window: accepted, not delivered again
            }
        }
        let serial = events.len() as u64 + 1;
        events.push(Event {
            serial,
            channel: ch.to_string(),
            name: m.name.clone(),
            raw,
            encoding,
            id: m.id.clone(),
            timestamp: now_ms(),
        });
        list.push(m);
    }
    st.published.notify_waiters();
    Ok(first_id.unwrap_or_else(|| format!("{:x}", rand::random::<u64>())))
}

/// A JSON body that is one object or an array of them (as Ably's publish and batch endpoints take).
fn one_or_many(body: &[u8], expected: &str) -> Result<Vec<Value>, Box<Response<Full<Bytes>>>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(a)) => Ok(a),
        Ok(o @ Value::Object(_)) => Ok(vec![o]),
        Ok(_) => Err(Box::new(error(400, 40000, &format!("expected {expected}")))),
        Err(_) => Err(Box::new(error(400, 40000, "body is not JSON"))),
    }
}

fn batch(cfg: &Config, st: &State, body: &[u8]) -> Response<Full<Bytes>> {
    if body.len() >= MAX_BODY {
        return error(413, 40009, "batch request body must be under 2 MiB");
    }
    let specs = match one_or_many(body, "a BatchSpec or an array of them") {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let mut parsed = Vec::new();
    let mut distinct = HashSet::new();
    for s in &specs {
        let channels: Vec<String> = match s.get("channels") {
            Some(Value::String(c)) => vec![c.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(|c| c.as_str().map(String::from)).collect(),
            _ => return error(400, 40000, "a BatchSpec needs channels"),
        };
        let messages = match s.get("messages") {
            Some(Value::Array(a)) => a.clone(),
            Some(o @ Value::Object(_)) => vec![o.clone()],
            _ => return error(400, 40000, "a BatchSpec needs messages"),
        };
        distinct.extend(channels.iter().cloned());
        parsed.push((channels, messages));
    }
    if distinct.len() > 100 {
        return error(400, 40000, "a batch publish may name at most 100 channels");
    }
    let mut out = Vec::new();
    let mut any_failed = false;
    for (channels, messages) in parsed {
        let (mut ok_n, mut fail_n, mut results) = (0, 0, Vec::new());
        for ch in channels {
            let failing = {
                let mut f = st.channel_faults.lock().unwrap();
                match f.get_mut(&ch) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        true
                    }
                    _ => false,
                }
            };
            let r = if failing {
                Err(json!({"code": 50000, "statusCode": 500, "message": "injected channel failure"}))
            } else {
                match store(st, &ch, &messages) {
                    Ok(id) => Ok(id),
                    Err(_) => Err(json!({"code": 40013, "statusCode": 400, "message": "invalid message"})),
                }
            };
            match r {
                Ok(id) => {
                    ok_n += 1;
                    results.push(json!({"channel": ch, "messageId": id}));
                }
                Err(e) => {
                    fail_n += 1;
                    any_failed = true;
                    results.push(json!({"channel": ch, "error": e}));
                }
            }
        }
        out.push((ok_n, fail_n, results));
    }
    if cfg.legacy_batch {
        let flat: Vec<Value> = out.into_iter().flat_map(|(_, _, r)| r).collect();
        if any_failed {
            let mut r = error(400, 40020, "batched response includes errors");
            let body = json!({"error": {"code": 40020, "statusCode": 400, "message": "batched response includes errors"},
                              "batchResponse": flat});
            *r.body_mut() = Full::new(Bytes::from(body.to_string()));
            return r;
        }
        return ok(201, Value::Array(flat));
    }
    let results: Vec<Value> =
        out.into_iter().map(|(s, f, r)| json!({"successCount": s, "failureCount": f, "results": r})).collect();
    ok(201, Value::Array(results))
}

fn request_token(cfg: &Config, st: &State, key_name: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let Ok(r) = serde_json::from_slice::<Value>(body) else { return error(400, 40000, "body is not JSON") };
    let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let num = |k: &str| r.get(k).and_then(Value::as_u64);
    if text("keyName") != key_name {
        return error(400, 40000, "keyName in the request does not match the path");
    }
    let Some((_, secret)) = cfg.keys.iter().find(|(n, _)| n == key_name) else {
        return error(404, 40400, "no such key");
    };
    let (Some(timestamp), nonce, mac) = (num("timestamp"), text("nonce"), text("mac")) else {
        return error(400, 40000, "a token request needs timestamp, nonce and mac");
    };
    if nonce.len() < 16 {
        return error(400, 40000, "nonce must be at least 16 characters");
    }
    if now_ms().abs_diff(timestamp) > 120_000 {
        return error(401, 40104, "timestamp not current");
    }
    let ttl = num("ttl");
    if ttl.is_some_and(|t| t > 86_400_000) {
        return error(400, 40003, "ttl must be at most 24 hours");
    }
    let capability = text("capability");
    let client_id = text("clientId");
    let sign = format!(
        "{key_name}\n{}\n{capability}\n{client_id}\n{timestamp}\n{nonce}\n",
        ttl.map(|t| t.to_string()).unwrap_or_default()
    );
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(sign.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
    if expected != mac {
        return error(401, 40101, "invalid mac");
    }
    if !st.nonces.lock().unwrap().insert(nonce) {
        return error(401, 40105, "nonce value replayed");
    }
    let cap: Value = if capability.is_empty() {
        json!({"*": ["*"]})
    } else {
        match serde_json::from_str(&capability) {
            Ok(v) => v,
            Err(_) => return error(400, 40000, "capability is not a JSON object"),
        }
    };
    let issued = now_ms();
    let expires = issued + ttl.unwrap_or(3_600_000);
    let token = format!("tok-{:032x}", rand::random::<u128>());
    st.tokens.lock().unwrap().insert(token.clone(), Token { expires, capability: cap.clone() });
    let mut details = json!({"token": token, "keyName": key_name, "issued": issued, "expires": expires,
                             "capability": cap.to_string()});
    if !client_id.is_empty() {
        details["clientId"] = Value::String(client_id);
    }
    ok(200, details)
}
