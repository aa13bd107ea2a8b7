//! The buyer gateway: Seatwise's HTTP API for buyers' browsers and the venue's web app, a thin face on the
//! engine (docs/PROTOCOL.md, "Buyer gateway (HTTP API)").
//!
//! - `lib.rs`: the gateway's state ([`Gateway`]: caches, limits checked before work), the routers with their
//!   layers, serving. `config.rs`: [`Config`] and [`Limits`]; `layers.rs`: metrics and logs, header bound,
//!   `{code, message}` for every error, same-site writes.
//! - [`server`]: the accept loop: header and idle timeouts, a connection cap, graceful shutdown.
//! - [`routes`]: the `/v1` handlers.
//! - [`page`]: the waiting room page (`page/`, embedded), served at `/q/{show}/{sched}`.
//! - [`identity`]: service key or signed cookie → the one buyer a request acts for; the client address.
//! - [`local`]: the local sandbox (`LocalStack`) both faces run: redis-server, gateway, simulated buyers.
//! - [`joiner`]: concurrent joins for one queue coalesced into one `join_many` script call.
//! - [`error`]: `{code, message}` answers with fitting statuses.
//! - [`edge`]: every parser a buyer's bytes reach, for the fuzz target and the property tests.
//!
//! Shared-nothing: every gateway on one Redis agrees through Redis alone (tickets, rate limits, challenge
//! markers); the keys come from each gateway's configuration; a buyer can move between instances at any
//! request.

mod config;
pub mod door;
pub mod edge;
pub mod error;
pub mod identity;
pub mod joiner;
mod layers;
pub mod local;
pub mod page;
pub mod routes;
pub mod server;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use seatwise_ably::AblyRest;
use seatwise_engine::gate::KeyRing;
use seatwise_engine::{Engine, ErrorCode, QueueState, Show, ShowId, ShowQueueStatus, ShowStatus};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

pub use crate::config::{Class, Config, Limit, Limits, Outage};
use crate::error::ApiError;
use crate::identity::{Caller, IdentityConfig};
use crate::joiner::Joiner;
pub use crate::layers::check_same_site;
use crate::layers::{header_limit, json_errors, observe, same_site_only};

type Cached<T> = Mutex<HashMap<ShowId, (Instant, T)>>;

/// The most shows a gateway caches at once (ids are chosen by callers: a flood of made-up ids empties the
/// cache instead of growing it).
const CACHE_MAX: usize = 10_000;

/// How old the figures of a queue whose node cannot answer may be when served instead (the rest of the
/// show is read fresh): long enough for a Redis Cluster failover (seconds), short enough that a buyer never
/// acts on a stale pause or close for long.
pub const STALE_FOR: Duration = Duration::from_secs(30);

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
    /// Each show's last status read whole (every queue answered): what a failing node's rows fall back
    /// to, for at most [`STALE_FOR`].
    last_good: Cached<Arc<ShowQueueStatus>>,
    /// Rate-limit counters this gateway keeps itself while Redis cannot count ([`Outage::LocalCount`]):
    /// "kind:pseudonym" -> (window number, count).
    local_counts: Mutex<HashMap<String, (u64, u64)>>,
    /// The door's online checks of passes, remembered for a second (door.rs).
    door_checked: door::Checked,
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
    /// A gateway with `config` (checked first: [`Config::validate`]).
    pub async fn new(engine: Engine, ably: Option<Arc<AblyRest>>, config: Config) -> seatwise_engine::Result<Gateway> {
        if let Err(e) = config.validate() {
            let (value, allowed) = e.split_once(": ").unwrap_or(("", &e));
            return Err(seatwise_engine::Error::Invalid {
                what: "gateway setting",
                value: value.to_string(),
                allowed: allowed.to_string(),
            });
        }
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
            last_good: Mutex::new(HashMap::new()),
            local_counts: Mutex::new(HashMap::new()),
            door_checked: door::Checked::default(),
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
    ///
    /// A node that cannot answer (down, failing over) fails only its own queues: their rows come from the
    /// last status this gateway read whole, if it is at most [`STALE_FOR`] old (stale-while-revalidate);
    /// when even the catalog cannot be read, the whole last status serves for as long.
    pub async fn public_status(&self, show: &ShowId) -> Result<Arc<ShowQueueStatus>, ApiError> {
        let read = async {
            match self.engine.get_show_queue_status(show).await {
                Ok(mut fresh) => {
                    self.fill_from_stale(show, &mut fresh);
                    Ok(fresh)
                }
                Err(e) if e.code() != ErrorCode::NotFound => match self.stale(show) {
                    Some(s) => {
                        metrics::counter!("seatwise_gateway_stale_served_total").increment(1);
                        Ok((*s).clone())
                    }
                    None => Err(e),
                },
                Err(e) => Err(e),
            }
        };
        self.public_cached(&self.public, show, read, |s| is_public(s.status, &s.sale_opens_at)).await
    }

    fn stale(&self, show: &ShowId) -> Option<Arc<ShowQueueStatus>> {
        let c = self.last_good.lock().expect("cache lock");
        c.get(show).filter(|(at, _)| at.elapsed() <= STALE_FOR).map(|(_, v)| v.clone())
    }

    /// Remembers a status read whole; or fills the failed rows of a partial one from the last whole one.
    fn fill_from_stale(&self, show: &ShowId, fresh: &mut ShowQueueStatus) {
        let failed = |q: &seatwise_engine::ScheduleQueueStatus| q.stats.state == QueueState::Error;
        if !fresh.queue_statuses.iter().any(failed) {
            self.remember(&self.last_good, show, Arc::new(fresh.clone()));
            return;
        }
        let Some(old) = self.stale(show) else { return };
        for row in fresh.queue_statuses.iter_mut().filter(|q| failed(q)) {
            if let Some(prev) = old.queue_statuses.iter().find(|o| o.sched_id == row.sched_id) {
                *row = prev.clone();
                metrics::counter!("seatwise_gateway_stale_served_total").increment(1);
            }
        }
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

    /// Counts a request against a limit; 429 with Retry-After when over it. While Redis cannot count it,
    /// `outage` decides (docs/PROTOCOL.md, "Limits during an outage").
    pub async fn limit(&self, kind: &str, who: &str, l: Limit, outage: Outage) -> Result<(), ApiError> {
        if l.max == 0 {
            return Ok(());
        }
        let who = self.key.current().pseudonym(who);
        let over = match self.engine.rate_limit(kind, &who, l.max, l.window_ms).await {
            Ok(over) => over,
            // Whatever kept Redis from counting (a node down, failing over, timing out), the route's rule
            // decides, never the kind of error.
            Err(e) => {
                metrics::counter!("seatwise_gateway_limit_outage_total", "limit" => kind.to_string()).increment(1);
                tracing::debug!(error = %e, limit = kind, "a limit's counter could not be read: the route's outage rule applies");
                match outage {
                    Outage::Open => None,
                    Outage::LocalCount => self.count_locally(kind, &who, l),
                }
            }
        };
        match over {
            None => Ok(()),
            Some(ms) => {
                metrics::counter!("seatwise_gateway_rate_limited_total", "limit" => kind.to_string()).increment(1);
                Err(ApiError::rate_limited(ms))
            }
        }
    }

    /// The fixed-window count `ratelimit.lua` keeps, kept by this gateway alone: `Some(ms)` = over the
    /// limit, retry after `ms`.
    fn count_locally(&self, kind: &str, who: &str, l: Limit) -> Option<u64> {
        let now = seatwise_engine::gate::now_ms();
        let window = now / l.window_ms.max(1);
        let mut c = self.local_counts.lock().expect("counts lock");
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        let entry = c.entry(format!("{kind}:{who}")).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        (entry.1 > l.max).then(|| ((window + 1) * l.window_ms).saturating_sub(now).max(1))
    }

    /// The limits a call passes before its work, in order: its address's (browsers only), then its
    /// buyer's. A call refused by the first leaves no trace in the second.
    pub async fn check(&self, class: Class, ip: &str, caller: &Caller) -> Result<(), ApiError> {
        let (kind, per_ip, per_buyer) = class.limits(&self.config.limits);
        let outage = class.on_outage();
        if !caller.is_service() {
            self.limit(&format!("{kind}-ip"), ip, per_ip, outage).await?;
        }
        if let Some(b) = caller.buyer() {
            self.limit(&format!("{kind}-buyer"), b.as_str(), per_buyer, outage).await?;
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
