//! The buyer gateway: Seatwise's HTTP API for buyers' browsers and the venue's web app, a thin face on the
//! engine (docs/PROTOCOL.md, "Buyer gateway (HTTP API)").
//!
//! - `lib.rs`: configuration, the limits, the router with its layers (CORS, same-site checks, body/header
//!   limits, timeout, `{code, message}` for every error, metrics and logs).
//! - [`server`]: the accept loop: header and idle timeouts, a connection cap, graceful shutdown.
//! - [`routes`]: the `/v1` handlers.
//! - [`page`]: the waiting room page (`page/`, embedded), served at `/q/{show}/{sched}`.
//! - [`identity`]: service key or signed cookie → the one buyer a request acts for; the client address.
//! - [`joiner`]: concurrent joins for one queue coalesced into one `join_many` script call.
//! - [`error`]: `{code, message}` answers with fitting statuses.
//! - [`edge`]: every parser a buyer's bytes reach, for the fuzz target and the property tests.
//!
//! Shared-nothing: every gateway on one Redis agrees through Redis alone (tickets, rate limits, challenge
//! markers); the keys come from each gateway's configuration; a buyer can move between instances at any
//! request.

pub mod edge;
pub mod error;
pub mod identity;
pub mod joiner;
pub mod page;
pub mod routes;
pub mod server;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use seatwise_ably::AblyRest;
use seatwise_engine::gate::KeyRing;
use seatwise_engine::{Engine, ErrorCode, Show, ShowId, ShowQueueStatus, ShowStatus};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::ApiError;
use crate::identity::{Caller, IdentityConfig};
use crate::joiner::Joiner;

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
    Status,
    Action,
    Live,
    Seats,
    Verify,
}

impl Class {
    /// (rate-limit key kind, per address, per buyer).
    fn limits(self, l: &Limits) -> (&'static str, Limit, Limit) {
        match self {
            Class::Join => ("join", l.join_per_ip, l.join_per_buyer),
            Class::Status => ("status", l.status_per_ip, l.status_per_buyer),
            Class::Action => ("action", l.action_per_ip, l.action_per_buyer),
            Class::Live => ("live", l.live_per_ip, l.live_per_buyer),
            Class::Seats => ("seats", l.seats_per_ip, Limit::OFF),
            Class::Verify => ("verify", l.verify_per_ip, Limit::OFF),
        }
    }
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

type Cached<T> = Mutex<HashMap<ShowId, (Instant, T)>>;

/// The most shows a gateway caches at once (ids are chosen by callers: a flood of made-up ids empties the
/// cache instead of growing it).
const CACHE_MAX: usize = 10_000;

/// One gateway's state, shared by its handlers.
pub struct Gateway {
    pub engine: Engine,
    pub ably: Option<Arc<AblyRest>>,
    pub config: Config,
    pub identity: IdentityConfig,
    /// Signs challenges and pseudonymises buyer ids and addresses in logs and rate-limit keys.
    pub key: KeyRing,
    pub pass_key: KeyRing,
    pub joiner: Joiner,
    /// Public queue status per show: (when read, what; None = not public).
    public: Cached<Option<Arc<ShowQueueStatus>>>,
    /// Seat maps per show (with when read).
    shows: Cached<Option<Arc<Show>>>,
    metrics: PrometheusHandle,
}

fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
            let builder = PrometheusBuilder::new().set_buckets(&buckets).expect("buckets are given");
            // A process has one recorder; a second gateway in the same process shares it.
            match builder.install_recorder() {
                Ok(h) => h,
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// A show buyers may see: not a draft, and an upcoming show only once its sale opening is announced.
fn is_public(status: ShowStatus, sale_opens_at: &Option<String>) -> bool {
    match status {
        ShowStatus::Draft => false,
        ShowStatus::Upcoming => sale_opens_at.is_some(),
        _ => true,
    }
}

fn no_show(show: &ShowId) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no show {show} is on sale or announced"))
}

impl Gateway {
    pub async fn new(engine: Engine, ably: Option<Arc<AblyRest>>, config: Config) -> seatwise_engine::Result<Gateway> {
        let key = config.gateway_keys.clone().unwrap_or_else(KeyRing::ephemeral);
        let pass_key = config.pass_keys.clone().unwrap_or_else(|| key.derive("admission-pass"));
        let identity = IdentityConfig {
            service_key: config.service_key.as_deref().map(identity::secret_hash),
            browser_direct: config.browser_direct,
            cookie_keys: key.derive("buyer-cookie"),
            cookie_secure: config.cookie_secure,
        };
        Ok(Gateway {
            engine,
            ably,
            identity,
            key: key.derive("challenge"),
            pass_key,
            joiner: Joiner::default(),
            public: Mutex::new(HashMap::new()),
            shows: Mutex::new(HashMap::new()),
            metrics: metrics_handle(),
            config,
        })
    }

    fn cached<T: Clone>(&self, cache: &Cached<T>, show: &ShowId) -> Option<T> {
        let c = cache.lock().expect("cache lock");
        c.get(show).filter(|(at, _)| at.elapsed() < self.config.public_cache).map(|(_, v)| v.clone())
    }

    fn remember<T>(&self, cache: &Cached<T>, show: &ShowId, v: T) {
        let mut c = cache.lock().expect("cache lock");
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(show.clone(), (Instant::now(), v));
    }

    /// A show's public queue status, read from Redis at most once per `public_cache` by this gateway; 404
    /// for a show that does not exist or is not public yet (a draft, or upcoming with no sale opening).
    pub async fn public_status(&self, show: &ShowId) -> Result<Arc<ShowQueueStatus>, ApiError> {
        let read = self.engine.get_show_queue_status(show);
        self.public_cached(&self.public, show, read, |s| is_public(s.status, &s.sale_opens_at)).await
    }

    /// A public show with its schedules and seat maps (cached like [`Gateway::public_status`]).
    pub async fn public_show(&self, show: &ShowId) -> Result<Arc<Show>, ApiError> {
        let read = self.engine.get_show(show);
        self.public_cached(&self.shows, show, read, |s| is_public(s.status, &s.sale_opens_at)).await
    }

    /// What `read` finds of a show, from `cache` when fresh; a show that is missing or not `public` is
    /// remembered as such (a flood of requests for it reads Redis once per `public_cache`).
    async fn public_cached<T>(
        &self,
        cache: &Cached<Option<Arc<T>>>,
        show: &ShowId,
        read: impl Future<Output = seatwise_engine::Result<T>>,
        public: fn(&T) -> bool,
    ) -> Result<Arc<T>, ApiError> {
        let found = match self.cached(cache, show) {
            Some(found) => found,
            None => {
                let found = match read.await {
                    Ok(v) => public(&v).then(|| Arc::new(v)),
                    Err(e) if e.code() == ErrorCode::NotFound => None,
                    Err(e) => return Err(e.into()),
                };
                self.remember(cache, show, found.clone());
                found
            }
        };
        found.ok_or_else(|| no_show(show))
    }

    /// Counts a request against a limit; 429 with Retry-After when over it.
    pub async fn limit(&self, kind: &str, who: &str, l: Limit) -> Result<(), ApiError> {
        if l.max == 0 {
            return Ok(());
        }
        match self.engine.rate_limit(kind, &self.key.current().pseudonym(who), l.max, l.window_ms).await? {
            None => Ok(()),
            Some(ms) => {
                metrics::counter!("seatwise_gateway_rate_limited_total", "limit" => kind.to_string()).increment(1);
                Err(ApiError::rate_limited(ms))
            }
        }
    }

    /// The limits a call passes before its work, in order: its address's (browsers only), then its
    /// buyer's. A call refused by the first leaves no trace in the second.
    pub async fn check(&self, class: Class, ip: &str, caller: &Caller) -> Result<(), ApiError> {
        let (kind, per_ip, per_buyer) = class.limits(&self.config.limits);
        if !caller.is_service() {
            self.limit(&format!("{kind}-ip"), ip, per_ip).await?;
        }
        if let Some(b) = caller.buyer() {
            self.limit(&format!("{kind}-buyer"), b.as_str(), per_buyer).await?;
        }
        Ok(())
    }

    /// Deletes the signing key gateways before 0.2 kept in Redis (readable by watch-only users: SECURITY.md).
    /// Best effort: a gateway that may not write leaves it for the operator.
    pub async fn forget_legacy_key(&self) {
        let del = redis::cmd("DEL").arg(seatwise_engine::keys::LEGACY_GATEWAY_KEY).clone();
        match self.engine.redis().query::<i64>(&del).await {
            Ok(1) => tracing::warn!("deleted the signing key older gateways kept in Redis; it signs nothing now"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not delete the legacy key seatwise:{{gateway}}:key: delete it"),
        }
    }

    pub fn render_metrics(&self) -> String {
        self.metrics.render()
    }
}

/// The method as a metrics label: the methods the API serves, anything else `other` (a label's values
/// must not be the client's to choose).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Request count and latency by route and status, and one log line per request (route template only: no
/// ticket, buyer id or query string is logged).
async fn observe(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = method_label(req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = res.status().as_u16().to_string();
    metrics::counter!("seatwise_gateway_requests_total", "route" => route.clone(), "method" => method, "status" => status.clone()).increment(1);
    metrics::histogram!("seatwise_gateway_request_seconds", "route" => route.clone(), "method" => method).record(secs);
    tracing::debug!(method, route, status, ms = secs * 1000.0, "request");
    res
}

/// Refuses requests whose headers are larger than the configured bound (431).
async fn header_limit(max: usize, req: Request, next: Next) -> Response {
    let size: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if size > max {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("request headers are {size} bytes; at most {max} are accepted"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Every error answer is `{code, message}`: the few that layers answer with an empty body (405 from the
/// router, 408 from the timeout, 413 from the body limit) get one here.
async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || res.headers().contains_key(header::CONTENT_TYPE) {
        return res;
    }
    let err = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            status,
            "method_not_allowed",
            format!("this route does not take {}; see /v1/openapi.json", method_label(&method)),
        ),
        StatusCode::REQUEST_TIMEOUT => ApiError::new(
            status,
            "timeout",
            "the request took too long (its body arrived too slowly, or the service is busy); try again",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(status, "too_large", "the request body is too large"),
        _ => ApiError::new(status, "error", status.canonical_reason().unwrap_or("error").to_string()),
    };
    let mut out = err.into_response();
    for (k, v) in res.headers() {
        if k == header::ALLOW || k.as_str().starts_with("access-control-") || k == header::VARY {
            out.headers_mut().append(k, v.clone());
        }
    }
    out
}

/// Calls that change something (POST, DELETE) come only from the gateway's own pages, an allowed origin,
/// or a server: a body is JSON (so no HTML form can send it), and a browser's `Origin` or
/// `Sec-Fetch-Site` must not name a foreign site (a cross-site form could otherwise join, or replace a
/// waiting buyer's identity cookie).
async fn same_site_only(origins: Arc<Vec<String>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if let Err(e) = check_same_site(req.headers(), &origins) {
        return e.into_response();
    }
    next.run(req).await
}

/// The checks of [`same_site_only`], on the headers alone.
pub fn check_same_site(h: &axum::http::HeaderMap, origins: &[String]) -> Result<(), ApiError> {
    let has_body = h.get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
        || h.contains_key(header::TRANSFER_ENCODING);
    match h.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("")) {
        Some(ct) if !is_json(ct) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a request body is JSON: send Content-Type: application/json",
            ));
        }
        None if has_body => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a request body is JSON: send Content-Type: application/json",
            ));
        }
        _ => {}
    }
    let cross = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "this call must come from the waiting page's own site or an origin the gateway allows (--cors-origin)",
        )
    };
    let origin = h.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("null"));
    let allowed = origin.is_some_and(|o| origins.iter().any(|a| a.eq_ignore_ascii_case(o)));
    if let Some(o) = origin
        && !allowed
        && !same_origin(o, h)
    {
        return Err(cross());
    }
    let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("none");
    if !matches!(site, "same-origin" | "none") && !allowed {
        return Err(cross());
    }
    Ok(())
}

fn is_json(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("application/json")
}

/// `Origin` names the host the request was sent to (the gateway's own page).
fn same_origin(origin: &str, h: &axum::http::HeaderMap) -> bool {
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let o = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    !host.is_empty() && o.is_some_and(|o| o.eq_ignore_ascii_case(host))
}

/// The whole public HTTP surface with its layers.
pub fn router(gw: Arc<Gateway>) -> Router {
    let cfg = &gw.config;
    let origins: Vec<HeaderValue> = cfg.cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600));
    let max_header = cfg.max_header_bytes;
    let allowed = Arc::new(cfg.cors_origins.clone());
    let timeout = TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, cfg.request_timeout);
    let mut r = routes::routes();
    if cfg.public_metrics {
        r = r.route("/metrics", get(routes::metrics));
    }
    r.layer(axum::extract::DefaultBodyLimit::max(cfg.max_body_bytes))
        // Buyers' answers are never cached; the few that may be say so themselves (public status, page).
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(middleware::from_fn(move |req, next| same_site_only(allowed.clone(), req, next)))
        .layer(middleware::from_fn(observe))
        .layer(cors)
        .layer(timeout)
        .layer(middleware::from_fn(move |req, next| header_limit(max_header, req, next)))
        .layer(middleware::from_fn(json_errors))
        .with_state(gw)
}

/// The operators' surface, for a listener of its own (never the buyers' port): `/metrics`, `/healthz`,
/// `/readyz`.
pub fn operator_router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/metrics", get(routes::metrics))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .fallback(routes::not_found)
        .layer(middleware::from_fn(json_errors))
        .with_state(gw)
}

/// Serves the public API until `shutdown` resolves; requests in flight then finish.
pub async fn serve(
    listener: TcpListener,
    gw: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = server::ConnLimits::of(&gw.config);
    server::serve(listener, router(gw), limits, shutdown).await
}

/// Serves the operators' surface ([`operator_router`]) until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    gw: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = server::ConnLimits { max_connections: 64, ..server::ConnLimits::of(&gw.config) };
    server::serve(listener, operator_router(gw), limits, shutdown).await
}

/// The local sandbox's gateway (`seatwise demo`, the console's sandbox): on 127.0.0.1:8080, or a free port
/// when that one is taken, with the default limits and browser-direct identities.
pub async fn start_local(engine: &Engine) -> std::io::Result<Running> {
    let gw = Gateway::new(engine.clone(), None, Config::default())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let listener = match TcpListener::bind("127.0.0.1:8080").await {
        Ok(l) => l,
        Err(_) => TcpListener::bind("127.0.0.1:0").await?,
    };
    Running::start(listener, Arc::new(gw)).await
}

/// Starts a gateway on `listener` in the background (tests, the sandbox): returns its address and a
/// handle that stops it gracefully when dropped or triggered.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// The public API on `listener`.
    pub async fn start(listener: TcpListener, gw: Arc<Gateway>) -> std::io::Result<Running> {
        let limits = server::ConnLimits::of(&gw.config);
        Running::spawn(listener, router(gw), limits)
    }

    /// The operators' surface ([`operator_router`]) on `listener`.
    pub async fn start_operator(listener: TcpListener, gw: Arc<Gateway>) -> std::io::Result<Running> {
        let limits = server::ConnLimits::of(&gw.config);
        Running::spawn(listener, operator_router(gw), limits)
    }

    fn spawn(listener: TcpListener, app: Router, limits: server::ConnLimits) -> std::io::Result<Running> {
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, app, limits, async move {
            let _ = rx.await;
        }));
        Ok(Running { addr, stop: Some(tx), task: Some(task) })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits for that.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
