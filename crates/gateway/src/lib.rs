//! The buyer gateway: Seatwise's HTTP API for buyers' browsers and the venue's web app, a thin face on the
//! engine (docs/PROTOCOL.md, "Buyer gateway (HTTP API)").
//!
//! - `lib.rs`: configuration, the router with its layers (CORS, body/header limits, timeout, metrics and
//!   logs), graceful shutdown.
//! - [`routes`]: the `/v1` handlers.
//! - [`page`]: the waiting room page (`page/`, embedded), served at `/q/{show}/{sched}`.
//! - [`identity`]: service key or signed cookie → the one buyer a request acts for.
//! - [`joiner`]: concurrent joins for one queue coalesced into one `join_many` script call.
//! - [`error`]: `{code, message}` answers with fitting statuses.
//!
//! Shared-nothing: every gateway on one Redis agrees through Redis alone (tickets, rate limits, challenge
//! markers, the gateway key); a buyer can move between instances at any request.

pub mod error;
pub mod identity;
pub mod joiner;
pub mod page;
pub mod routes;

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
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use seatwise_ably::AblyRest;
use seatwise_engine::gate::SigningKey;
use seatwise_engine::{Engine, ShowId, ShowQueueStatus};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::error::ApiError;
use crate::identity::IdentityConfig;
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

/// The rate limits, held in Redis so they hold across every gateway on it.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub join_per_ip: Limit,
    pub join_per_buyer: Limit,
    pub status_per_ip: Limit,
    pub status_per_buyer: Limit,
}

impl Default for Limits {
    /// Generous per address (many buyers share one behind a venue's Wi-Fi or a mobile carrier), tight per
    /// buyer (a page polls at most every 2 s).
    fn default() -> Self {
        Limits {
            join_per_ip: Limit::per_minute(120),
            join_per_buyer: Limit::per_minute(10),
            status_per_ip: Limit::per_minute(3000),
            status_per_buyer: Limit::per_minute(90),
        }
    }
}

impl Limits {
    pub const OFF: Limits = Limits {
        join_per_ip: Limit::OFF,
        join_per_buyer: Limit::OFF,
        status_per_ip: Limit::OFF,
        status_per_buyer: Limit::OFF,
    };
}

/// How a gateway runs. Secrets come from the environment (the CLI reads them), never from flags.
#[derive(Clone, Debug)]
pub struct Config {
    /// The venue web app's key for server-to-server calls; None = that mode is off.
    pub service_key: Option<String>,
    /// Give browsers their own identity in a cookie (browser-direct mode).
    pub browser_direct: bool,
    /// Origins allowed to call from a browser (CORS, with credentials); empty = same origin only.
    pub cors_origins: Vec<String>,
    /// Take the client address from X-Forwarded-For (behind the venue's load balancer only).
    pub trust_proxy: bool,
    /// Mark the cookie Secure (browsers still send it to http://localhost).
    pub cookie_secure: bool,
    /// Signs cookies and challenges; None = the key shared through Redis.
    pub gateway_key: Option<SigningKey>,
    /// Signs admission passes (shared with the venue's booking site); None = derived from the gateway key.
    pub pass_key: Option<SigningKey>,
    pub limits: Limits,
    /// How long the public queue status is reused.
    pub public_cache: Duration,
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
    pub request_timeout: Duration,
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
            trust_proxy: false,
            cookie_secure: true,
            gateway_key: None,
            pass_key: None,
            limits: Limits::default(),
            public_cache: Duration::from_secs(1),
            max_body_bytes: 16 * 1024,
            max_header_bytes: 8 * 1024,
            request_timeout: Duration::from_secs(10),
            sold_out_margin: 1.0,
        }
    }
}

/// One gateway's state, shared by its handlers.
pub struct Gateway {
    pub engine: Engine,
    pub ably: Option<Arc<AblyRest>>,
    pub config: Config,
    pub identity: IdentityConfig,
    /// Signs challenges and pseudonymises buyer ids and addresses in logs and rate-limit keys.
    pub key: SigningKey,
    pub pass_key: SigningKey,
    pub joiner: Joiner,
    /// Public queue status per show: (when read, what).
    public: Mutex<HashMap<ShowId, (Instant, Arc<ShowQueueStatus>)>>,
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

impl Gateway {
    pub async fn new(engine: Engine, ably: Option<Arc<AblyRest>>, config: Config) -> seatwise_engine::Result<Gateway> {
        let key = match &config.gateway_key {
            Some(k) => k.clone(),
            None => engine.gateway_key().await?,
        };
        let pass_key = config.pass_key.clone().unwrap_or_else(|| key.derive("admission-pass"));
        let identity = IdentityConfig {
            service_key: config.service_key.as_deref().map(identity::secret_hash),
            browser_direct: config.browser_direct,
            cookie_key: key.derive("buyer-cookie"),
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
            metrics: metrics_handle(),
            config,
        })
    }

    /// A show's public queue status, read from Redis at most once per `public_cache` by this gateway.
    pub async fn public_status(&self, show: &ShowId) -> Result<Arc<ShowQueueStatus>, ApiError> {
        if let Some((at, s)) = self.public.lock().expect("cache lock").get(show)
            && at.elapsed() < self.config.public_cache
        {
            return Ok(s.clone());
        }
        let s = Arc::new(self.engine.get_show_queue_status(show).await?);
        self.public.lock().expect("cache lock").insert(show.clone(), (Instant::now(), s.clone()));
        Ok(s)
    }

    /// Counts a request against a limit; 429 with Retry-After when over it.
    pub async fn limit(&self, kind: &str, who: &str, l: Limit) -> Result<(), ApiError> {
        if l.max == 0 {
            return Ok(());
        }
        match self.engine.rate_limit(kind, &self.key.pseudonym(who), l.max, l.window_ms).await? {
            None => Ok(()),
            Some(ms) => Err(ApiError::rate_limited(ms)),
        }
    }

    pub fn render_metrics(&self) -> String {
        self.metrics.render()
    }
}

/// Request count and latency by route and status, and one log line per request (route template only: no
/// ticket, buyer id or query string is logged).
async fn observe(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = req.method().clone();
    let start = Instant::now();
    let res = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = res.status().as_u16().to_string();
    metrics::counter!("seatwise_gateway_requests_total", "route" => route.clone(), "method" => method.to_string(), "status" => status.clone()).increment(1);
    metrics::histogram!("seatwise_gateway_request_seconds", "route" => route.clone(), "method" => method.to_string())
        .record(secs);
    tracing::debug!(%method, route, status, ms = secs * 1000.0, "request");
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

/// The whole HTTP surface with its layers.
pub fn router(gw: Arc<Gateway>) -> Router {
    let cfg = &gw.config;
    let origins: Vec<HeaderValue> = cfg.cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    let max_header = cfg.max_header_bytes;
    #[allow(deprecated)] // TimeoutLayer::new: 408 on timeout, which is what we want
    let timeout = TimeoutLayer::new(cfg.request_timeout);
    routes::routes()
        .layer(axum::extract::DefaultBodyLimit::max(cfg.max_body_bytes))
        .layer(middleware::from_fn(observe))
        .layer(cors)
        .layer(timeout)
        .layer(middleware::from_fn(move |req, next| header_limit(max_header, req, next)))
        .with_state(gw)
}

/// Serves until `shutdown` resolves; requests in flight then finish.
pub async fn serve(
    listener: TcpListener,
    gw: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(gw).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
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
    pub async fn start(listener: TcpListener, gw: Arc<Gateway>) -> std::io::Result<Running> {
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, gw, async move {
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
