//! The console's one piece of managed state, and everything the commands do. Commands are thin: each
//! delegates to a method here, and these delegate to the engine; tests call these methods directly.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use seatwise_ably::{AblyConfig, AblyRest, ApiKey, Endpoint, TokenParams};
use seatwise_engine::local::{RedisServer, ServerOptions};
use seatwise_engine::notify::{Worker, WorkerReport};
use seatwise_engine::shows::{AuditEntry, ImportOutcome, Show, ShowStatus, StatusChange, parse_shows_file};
use seatwise_engine::sim::{SimConfig, SimSnapshot, Simulator};
use seatwise_engine::{Actor, ConnectOptions, Engine, Redis, Scope, ShowId, ShowQueueStatus, Target, Ticket};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{UiError, UiResult};
use crate::prefs::PrefsStore;
use crate::secrets::{self, Kind, Secret};

/// How much history the sparklines keep.
const HISTORY: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    /// One Redis server: redis:// or rediss://.
    Redis,
    /// A Redis Cluster: seed nodes.
    Cluster,
    /// Upstash over its REST API: the REST URL, and the REST token (kept in the keyring).
    Upstash,
}

/// A connection profile as the UI sees it: hints only, never a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub name: String,
    pub kind: ProfileKind,
    /// `scheme://host:port` of each node: no password.
    pub redis_hint: String,
    pub ably_hint: Option<String>,
    pub ably_endpoint: Option<String>,
    /// The REST URL of an Upstash profile (not a secret: the token is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_url: Option<String>,
}

/// What the setup screen sends. Empty secret fields on an existing profile keep the saved secret.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    pub name: String,
    pub kind: Option<ProfileKind>,
    #[serde(default)]
    pub redis_url: String,
    #[serde(default)]
    pub cluster_nodes: String,
    #[serde(default)]
    pub rest_url: String,
    #[serde(default)]
    pub rest_token: String,
    #[serde(default)]
    pub ably_key: String,
    #[serde(default)]
    pub ably_endpoint: String,
}

impl std::fmt::Debug for ProfileInput {
    // The secrets it carries are never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileInput").field("name", &self.name).field("kind", &self.kind).finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub ok: bool,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub redis: Check,
    pub ably: Option<Check>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    pub profile: String,
    pub label: String,
    pub sandbox: bool,
    pub ably: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StatusOption {
    pub status: ShowStatus,
    pub label: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ShowRow {
    pub show: Show,
    pub status_label: String,
    /// The statuses this show may change to now (the seed's option B labels).
    pub allowed: Vec<StatusOption>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MonitorData {
    pub at_ms: i64,
    pub shows: Vec<ShowQueueStatus>,
    /// Queue size over the last hour per showScopeId, oldest first (one point per refresh).
    pub history: HashMap<String, Vec<u64>>,
    pub worker: Option<WorkerReport>,
    pub simulator: Option<SimSnapshot>,
}

struct Session {
    info: ConnectionInfo,
    engine: Engine,
    worker: Worker,
    sim: Option<Simulator>,
    // Kept for its lifetime: the sandbox's redis-server stops when the session ends.
    sandbox: Option<RedisServer>,
}

pub struct AppState {
    prefs: Box<dyn PrefsStore>,
    data_dir: PathBuf,
    actor: Actor,
    session: tokio::sync::Mutex<Option<Session>>,
    history: std::sync::Mutex<HashMap<String, VecDeque<(i64, u64)>>>,
}

fn check_name(name: &str) -> UiResult<()> {
    let ok = !name.trim().is_empty()
        && name.len() <= 40
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ' ');
    if ok {
        Ok(())
    } else {
        Err(UiError::new("invalid", "A profile name is 1 to 40 letters, digits, spaces, '-' or '_'."))
    }
}

fn cluster_list(text: &str) -> Vec<String> {
    text.split([',', '\n', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The target of a profile from its secret (and, for Upstash, its REST URL).
fn target_of(kind: ProfileKind, secret: &str, rest_url: Option<&str>) -> Target {
    match kind {
        ProfileKind::Redis => Target::Url(secret.to_string()),
        ProfileKind::Cluster => Target::Cluster(cluster_list(secret)),
        ProfileKind::Upstash => Target::Rest { url: rest_url.unwrap_or("").to_string(), token: secret.to_string() },
    }
}

fn hint_of(target: &Target) -> String {
    match target {
        Target::Url(u) => seatwise_engine::redis_conn::redact(u),
        Target::Cluster(n) => n.iter().map(|u| seatwise_engine::redis_conn::redact(u)).collect::<Vec<_>>().join(", "),
        Target::Rest { url, .. } => format!("REST {}", seatwise_engine::redis_conn::redact(url)),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl AppState {
    pub fn new(prefs: Box<dyn PrefsStore>, data_dir: PathBuf, actor: Actor) -> AppState {
        AppState { prefs, data_dir, actor, session: tokio::sync::Mutex::new(None), history: Default::default() }
    }

    // ---- preferences ----

    pub fn prefs_get(&self) -> Value {
        json!({
            "refreshSeconds": self.prefs.get("refreshSeconds").unwrap_or(json!(10)),
            "lastView": self.prefs.get("lastView").unwrap_or(json!("shows")),
            "lastProfile": self.prefs.get("lastProfile").unwrap_or(Value::Null),
        })
    }

    pub fn prefs_set(&self, refresh_seconds: Option<u64>, last_view: Option<String>) -> UiResult<Value> {
        if let Some(r) = refresh_seconds {
            if !(2..=300).contains(&r) {
                return Err(UiError::new("invalid", "The refresh interval is 2 to 300 seconds."));
            }
            self.prefs.set("refreshSeconds", json!(r)).map_err(|e| UiError::new("prefs", e))?;
        }
        if let Some(v) = last_view {
            if !["setup", "shows", "monitor", "audit"].contains(&v.as_str()) {
                return Err(UiError::new("invalid", "The view is one of setup, shows, monitor, audit."));
            }
            self.prefs.set("lastView", json!(v)).map_err(|e| UiError::new("prefs", e))?;
        }
        Ok(self.prefs_get())
    }

    // ---- profiles ----

    pub fn profiles(&self) -> Vec<Profile> {
        self.prefs.get("profiles").and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
    }

    fn put_profiles(&self, list: &[Profile]) -> UiResult<()> {
        self.prefs.set("profiles", json!(list)).map_err(|e| UiError::new("prefs", e))
    }

    /// Checks the profile offline (URL format, key format) and stores its secrets in the OS keyring.
    /// Needs no network.
    pub fn save_profile(&self, input: ProfileInput) -> UiResult<Profile> {
        check_name(&input.name)?;
        let name = input.name.trim().to_string();
        let mut list = self.profiles();
        let existing = list.iter().find(|p| p.name == name).cloned();
        let kind = input.kind.or(existing.as_ref().map(|p| p.kind)).unwrap_or(ProfileKind::Redis);
        let redis_text = match kind {
            ProfileKind::Redis => input.redis_url.trim().to_string(),
            ProfileKind::Cluster => cluster_list(&input.cluster_nodes).join(","),
            ProfileKind::Upstash => input.rest_token.trim().to_string(),
        };
        let rest_url = match kind {
            ProfileKind::Upstash => {
                let typed = input.rest_url.trim();
                let url = if typed.is_empty() {
                    existing.as_ref().and_then(|p| p.rest_url.clone()).unwrap_or_default()
                } else {
                    typed.to_string()
                };
                // The URL is checked even when the saved token is kept.
                Target::Rest { url: url.clone(), token: "placeholder".into() }.validate()?;
                Some(url)
            }
            _ => None,
        };
        // Validate everything before writing anything.
        let redis_secret = if redis_text.is_empty() {
            match &existing {
                Some(p) if p.kind == kind => None,
                _ => {
                    return Err(UiError::new(
                        "invalid",
                        match kind {
                            ProfileKind::Redis => {
                                "Enter the Redis URL: redis://[user:password@]host[:port] or rediss:// for TLS."
                            }
                            ProfileKind::Cluster => {
                                "Enter the cluster's seed nodes: redis://host:port, separated by commas."
                            }
                            ProfileKind::Upstash => "Enter the database's REST token (with its REST URL).",
                        },
                    ));
                }
            }
        } else {
            let target = target_of(kind, &redis_text, rest_url.as_deref());
            target.validate()?;
            Some((Secret::new(redis_text), hint_of(&target)))
        };
        let ably_key = input.ably_key.trim();
        let ably = if ably_key.is_empty() {
            None
        } else {
            let key = ApiKey::parse(ably_key)?;
            Some((Secret::new(ably_key.to_string()), key.hint()))
        };
        let endpoint = input.ably_endpoint.trim();
        if !endpoint.is_empty() {
            Endpoint::parse(endpoint)?;
        }
        // Write the secrets, remembering what they replace, so a failure further on puts the keyring back
        // as it was: a profile and its secrets change together or not at all.
        let mut written: Vec<(Kind, Option<Secret>)> = Vec::new();
        let result = (|| -> UiResult<Profile> {
            for (kind, secret) in
                [(Kind::Redis, redis_secret.as_ref().map(|(s, _)| s)), (Kind::Ably, ably.as_ref().map(|(s, _)| s))]
            {
                if let Some(secret) = secret {
                    let before = secrets::load(&name, kind)?;
                    secrets::save(&name, kind, secret)?;
                    written.push((kind, before));
                }
            }
            let profile = Profile {
                name: name.clone(),
                kind,
                redis_hint: match (&redis_secret, &rest_url) {
                    (_, Some(u)) => format!("REST {}", seatwise_engine::redis_conn::redact(u)),
                    (Some((_, h)), None) => h.clone(),
                    (None, None) => existing.as_ref().map(|p| p.redis_hint.clone()).unwrap_or_default(),
                },
                ably_hint: ably
                    .as_ref()
                    .map(|(_, h)| h.clone())
                    .or(existing.as_ref().and_then(|p| p.ably_hint.clone())),
                ably_endpoint: (!endpoint.is_empty()).then(|| endpoint.to_string()),
                rest_url: rest_url.clone(),
            };
            list.retain(|p| p.name != name);
            list.push(profile.clone());
            list.sort_by(|a, b| a.name.cmp(&b.name));
            self.put_profiles(&list)?;
            Ok(profile)
        })();
        if result.is_err() {
            for (kind, before) in written {
                let _ = match before {
                    Some(old) => secrets::save(&name, kind, &old),
                    None => secrets::delete(&name, kind),
                };
            }
        }
        let profile = result?;
        Ok(profile)
    }

    /// Removes the profile's Ably key only (the profile stays).
    pub fn forget_ably_key(&self, name: &str) -> UiResult<Profile> {
        let mut list = self.profiles();
        let p = list
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| UiError::new("not_found", format!("No profile named {name}.")))?;
        secrets::delete(name, Kind::Ably)?;
        p.ably_hint = None;
        let out = p.clone();
        self.put_profiles(&list)?;
        Ok(out)
    }

    pub fn delete_profile(&self, name: &str) -> UiResult<()> {
        secrets::delete(name, Kind::Redis)?;
        secrets::delete(name, Kind::Ably)?;
        let mut list = self.profiles();
        list.retain(|p| p.name != name);
        self.put_profiles(&list)
    }

    fn profile(&self, name: &str) -> UiResult<Profile> {
        self.profiles().into_iter().find(|p| p.name == name).ok_or_else(|| {
            UiError::new("not_found", format!("No profile named {name}: create it on the setup screen."))
        })
    }

    fn ably_for(&self, p: &Profile) -> UiResult<Option<Arc<AblyRest>>> {
        let Some(key) = secrets::load(&p.name, Kind::Ably)? else { return Ok(None) };
        let mut cfg = AblyConfig::new(ApiKey::parse(key.expose())?);
        if let Some(e) = &p.ably_endpoint {
            cfg.endpoint = Some(Endpoint::parse(e)?);
        }
        cfg.agent = format!("seatwise-console/{}", env!("CARGO_PKG_VERSION"));
        Ok(Some(Arc::new(AblyRest::new(cfg)?)))
    }

    async fn redis_for(&self, p: &Profile) -> UiResult<Redis> {
        let secret = secrets::load(&p.name, Kind::Redis)?.ok_or_else(|| {
            UiError::new("not_found", format!("Profile {} has no Redis credentials saved: edit it.", p.name))
        })?;
        Ok(Redis::connect(&ConnectOptions::new(target_of(p.kind, secret.expose(), p.rest_url.as_deref()))).await?)
    }

    /// Redis PING, and (with an Ably key) a token request exchanged for a token.
    pub async fn test_profile(&self, name: &str) -> UiResult<TestResult> {
        let p = self.profile(name)?;
        let redis = match self.redis_for(&p).await {
            Ok(r) => Check { ok: true, message: format!("Redis answered PING at {}", r.label()) },
            Err(e) => Check { ok: false, message: e.message },
        };
        let ably = match self.ably_for(&p) {
            Err(e) => Some(Check { ok: false, message: e.message }),
            Ok(None) => None,
            Ok(Some(a)) => Some(match a.time().await {
                Err(e) => Check { ok: false, message: format!("Ably could not be reached: {e}") },
                Ok(t) => {
                    let req = a.create_token_request(TokenParams {
                        ttl_ms: Some(60_000),
                        timestamp: Some(t),
                        ..Default::default()
                    });
                    match a.request_token(&req).await {
                        Ok(_) => Check { ok: true, message: format!("Ably issued a token for key {}", a.key().hint()) },
                        Err(e) => Check { ok: false, message: format!("Ably refused the key: {e}") },
                    }
                }
            }),
        };
        Ok(TestResult { redis, ably })
    }

    async fn start_session(
        &self,
        info: ConnectionInfo,
        engine: Engine,
        ably: Option<Arc<AblyRest>>,
        sandbox: Option<RedisServer>,
    ) -> ConnectionInfo {
        let consumer = format!("console-{}-{}", self.actor.host, std::process::id());
        let worker = Worker::start(engine.clone(), ably, &consumer, Duration::from_millis(500));
        let mut s = self.session.lock().await;
        if let Some(old) = s.take() {
            stop_session(old).await;
        }
        self.history.lock().expect("not poisoned").clear();
        *s = Some(Session { info: info.clone(), engine, worker, sim: None, sandbox });
        info
    }

    pub async fn connect(&self, name: &str) -> UiResult<ConnectionInfo> {
        let p = self.profile(name)?;
        let redis = self.redis_for(&p).await?;
        let ably = self.ably_for(&p)?;
        let info = ConnectionInfo {
            profile: p.name.clone(),
            label: redis.label().to_string(),
            sandbox: false,
            ably: ably.is_some(),
        };
        let _ = self.prefs.set("lastProfile", json!(p.name));
        Ok(self.start_session(info, Engine::new(redis), ably, None).await)
    }

    /// The local sandbox: a redis-server in the app's data dir, the demo shows opened, simulated buyers.
    pub async fn start_sandbox(&self) -> UiResult<ConnectionInfo> {
        if let Some(s) = self.session.lock().await.as_ref().filter(|s| s.info.sandbox) {
            return Ok(s.info.clone()); // one sandbox at a time: its redis-server owns the data folder
        }
        let dir = self.data_dir.join("sandbox");
        let server = tokio::task::spawn_blocking(move || {
            RedisServer::start(&ServerOptions { data_dir: Some(dir), ..Default::default() })
        })
        .await
        .map_err(|e| UiError::new("sandbox", e.to_string()))??;
        let engine = Engine::new(Redis::connect(&ConnectOptions::new(Target::Url(server.url()))).await?);
        engine.open_demo_shows(&self.actor).await?;
        let info = ConnectionInfo { profile: "Local sandbox".into(), label: server.url(), sandbox: true, ably: false };
        let info = self.start_session(info, engine, None, Some(server)).await;
        self.simulate(true).await?;
        Ok(info)
    }

    pub async fn disconnect(&self) {
        if let Some(s) = self.session.lock().await.take() {
            stop_session(s).await;
        }
    }

    pub async fn connection(&self) -> Option<ConnectionInfo> {
        self.session.lock().await.as_ref().map(|s| s.info.clone())
    }

    async fn engine(&self) -> UiResult<Engine> {
        self.session
            .lock()
            .await
            .as_ref()
            .map(|s| s.engine.clone())
            .ok_or_else(|| UiError::new("not_connected", "Not connected: pick a profile or start the local sandbox."))
    }

    // ---- shows ----

    pub async fn shows(&self) -> UiResult<Vec<ShowRow>> {
        let e = self.engine().await?;
        Ok(e.list_shows()
            .await?
            .into_iter()
            .map(|show| ShowRow {
                status_label: show.status.label().to_string(),
                allowed: show
                    .status
                    .allowed_targets()
                    .iter()
                    .map(|s| StatusOption { status: *s, label: s.label().to_string() })
                    .collect(),
                show,
            })
            .collect())
    }

    /// Creates (no expected version) or updates a show from its JSON.
    pub async fn save_show(&self, json_text: &str, expected_version: Option<u64>) -> UiResult<Show> {
        let e = self.engine().await?;
        let show: Show = serde_json::from_str(json_text).map_err(|err| {
            UiError::new("invalid", format!("The show is not valid: {err}. Expected id, name, venue and schedules (id, startsAt, timeZone, capacity)."))
        })?;
        Ok(match expected_version {
            None => e.create_show(&show, &self.actor).await?,
            Some(v) => e.update_show(&show, v, &self.actor).await?,
        })
    }

    pub async fn import_shows(&self, text: &str) -> UiResult<Vec<ImportOutcome>> {
        let e = self.engine().await?;
        let shows = parse_shows_file("the imported file", text)?;
        Ok(e.import_shows(&shows, &self.actor).await?)
    }

    /// How many buyers a close would tell now: waiting plus in a session, over the show's schedules.
    pub async fn buyers_to_tell(&self, show: &str) -> UiResult<u64> {
        let e = self.engine().await?;
        let st = e.get_show_queue_status(&ShowId::new(show)?).await?;
        Ok(st.queue_statuses.iter().map(|q| q.stats.queue_size + q.stats.active_sessions).sum())
    }

    pub async fn change_status(
        &self,
        show: &str,
        status: &str,
        expected_version: Option<u64>,
    ) -> UiResult<StatusChange> {
        let e = self.engine().await?;
        Ok(e.update_show_status(&ShowId::new(show)?, ShowStatus::parse(status)?, &self.actor, expected_version).await?)
    }

    pub async fn audit(&self, show: Option<String>, limit: usize) -> UiResult<Vec<AuditEntry>> {
        let e = self.engine().await?;
        let id = show.as_deref().filter(|s| !s.is_empty()).map(ShowId::new).transpose()?;
        Ok(e.audit_log(limit.clamp(1, 1000), id.as_ref()).await?)
    }

    // ---- monitor ----

    pub async fn monitor(&self) -> UiResult<MonitorData> {
        let (engine, worker, sim) = {
            let s = self.session.lock().await;
            let s = s.as_ref().ok_or_else(|| UiError::new("not_connected", "Not connected."))?;
            (s.engine.clone(), s.worker.report(), s.sim.as_ref().map(|x| x.snapshot()))
        };
        let shows = engine.all_open_queue_status().await?;
        let at = now_ms();
        let mut h = self.history.lock().expect("not poisoned");
        for show in &shows {
            for q in &show.queue_statuses {
                let d = h.entry(q.show_scope_id.clone()).or_default();
                d.push_back((at, q.stats.queue_size));
                while d.front().is_some_and(|(t, _)| at - t > HISTORY.as_millis() as i64) {
                    d.pop_front();
                }
            }
        }
        let history = h.iter().map(|(k, v)| (k.clone(), v.iter().map(|(_, n)| *n).collect())).collect();
        Ok(MonitorData { at_ms: at, shows, history, worker: Some(worker), simulator: sim })
    }

    /// The current table as CSV, written to `dir`; returns the file's path.
    pub async fn export_csv(&self, dir: PathBuf) -> UiResult<String> {
        let data = self.monitor().await?;
        let mut csv = String::from(
            "show,schedule,date,state,queue_size,active_sessions,capacity,avg_service_s,est_wait_s,est_wait_min,admitted,abandoned,pending_notifications\n",
        );
        for s in &data.shows {
            for q in &s.queue_statuses {
                let st = &q.stats;
                csv.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    s.show_id,
                    q.sched_id,
                    q.sched_date,
                    st.state,
                    st.queue_size,
                    st.active_sessions,
                    st.capacity,
                    st.avg_service_ms / 1000,
                    st.estimated_wait_time / 1000,
                    (st.estimated_wait_time + 30_000) / 60_000,
                    st.admitted_total,
                    st.abandoned_total,
                    st.pending_events
                ));
            }
        }
        std::fs::create_dir_all(&dir).map_err(|e| UiError::new("file", format!("{}: {e}", dir.display())))?;
        let path = dir.join(format!("seatwise-queues-{}.csv", chrono::Local::now().format("%Y%m%d-%H%M%S")));
        std::fs::write(&path, csv).map_err(|e| UiError::new("file", format!("{}: {e}", path.display())))?;
        Ok(path.display().to_string())
    }

    // ---- queue actions (each recorded in the audit log) ----

    pub async fn queue_action(&self, scope: &str, action: &str, arg: Option<String>) -> UiResult<String> {
        let e = self.engine().await?;
        let sc = Scope::parse(scope)?;
        let num = |what: &str| -> UiResult<u32> {
            arg.as_deref()
                .unwrap_or("")
                .trim()
                .parse()
                .map_err(|_| UiError::new("invalid", format!("Enter the {what} as a whole number.")))
        };
        let (msg, detail) = match action {
            "pause" => (e.pause_queue(&sc).await?.message(), String::new()),
            "resume" => {
                e.resume_queue(&sc).await?;
                ("queue resumed".to_string(), String::new())
            }
            "admit" => {
                let n = num("number of buyers to admit")?;
                let k = e.admit(&sc, n).await?;
                (format!("admitted {k} buyers"), format!("asked {n}, admitted {k}"))
            }
            "capacity" => {
                let n = num("capacity")?;
                let k = e.set_capacity(&sc, n).await?;
                (format!("capacity set to {n}; {k} buyers admitted"), n.to_string())
            }
            "announce" => {
                let text = arg.clone().unwrap_or_default();
                e.announce(&sc, &text).await?;
                ("message queued for everyone waiting".to_string(), text)
            }
            "remove" => {
                let t = Ticket::parse(arg.as_deref().unwrap_or("").trim())?;
                let prev = e.remove_ticket(&sc, &t).await?;
                (format!("ticket removed (it was {})", prev.as_str()), t.to_string())
            }
            other => {
                return Err(UiError::new(
                    "invalid",
                    format!("Unknown action {other}: use pause, resume, admit, capacity, announce or remove."),
                ));
            }
        };
        e.record_action(&self.actor, action, &sc, &detail).await?;
        Ok(msg)
    }

    /// Starts or stops simulated buyers on every open queue of the current connection. The session lock
    /// is never held across a Redis call, so a slow Redis cannot block the monitor.
    pub async fn simulate(&self, on: bool) -> UiResult<Option<SimSnapshot>> {
        let (engine, old) = {
            let mut s = self.session.lock().await;
            let s = s.as_mut().ok_or_else(|| UiError::new("not_connected", "Not connected."))?;
            (s.engine.clone(), s.sim.take())
        };
        if let Some(sim) = old {
            sim.stop().await;
        }
        if !on {
            return Ok(None);
        }
        let scopes: Vec<Scope> = engine
            .list_shows()
            .await?
            .iter()
            .filter(|x| x.status.has_live_queues())
            .flat_map(|x| x.scopes().into_iter().map(|(sc, _)| sc))
            .collect();
        if scopes.is_empty() {
            return Err(UiError::new("no_queue", "No show is open: set a show to Open (Queue Active) first."));
        }
        let cfg = SimConfig {
            scopes,
            join_rate: 6.0,
            abandon_ratio: 0.15,
            poll_interval: Duration::from_secs(2),
            think: (Duration::from_secs(3), Duration::from_secs(10)),
            ..Default::default()
        };
        let sim = Simulator::start(engine, cfg);
        let snap = sim.snapshot();
        let mut s = self.session.lock().await;
        match s.as_mut() {
            Some(session) => {
                if let Some(other) = session.sim.replace(sim) {
                    other.stop().await;
                }
            }
            None => {
                sim.stop().await;
                return Err(UiError::new("not_connected", "Disconnected meanwhile."));
            }
        }
        Ok(Some(snap))
    }
}

async fn stop_session(s: Session) {
    if let Some(sim) = s.sim {
        sim.stop().await;
    }
    s.worker.stop().await;
    if let Some(server) = s.sandbox {
        let _ = tokio::task::spawn_blocking(move || server.shutdown()).await;
    }
}
