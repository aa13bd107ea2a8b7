//! The console's one piece of managed state: the current session (engine, outbox worker, optional sandbox
//! and simulated buyers) and what the commands do with it. Commands are thin: each delegates to a method
//! of [`AppState`] (here, or in `profiles.rs` for connection profiles), and these delegate to the engine.
//!
//! Why one file of ~520 lines: `AppState` is the one piece of managed state, and each command is a short
//! method on it; the flows themselves live in the engine and `seatwise_gateway::local::LocalStack`.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use seatwise_ably::AblyRest;
use seatwise_engine::notify::{Worker, WorkerReport};
use seatwise_engine::sandbox::SANDBOX_RATE;
use seatwise_engine::shows::{ImportOutcome, Show, StatusChange, parse_shows_file};
use seatwise_engine::sim::{SimSnapshot, Simulator};
use seatwise_engine::{Actor, AuditRecord, Engine, ErrorCode, Scope, ShowId, ShowQueueStatus, ShowStatus, StaffAction};
use seatwise_gateway::local::LocalStack;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{UiError, UiResult};
use crate::prefs::PrefsStore;

/// How much history the sparklines keep.
const HISTORY: Duration = Duration::from_secs(3600);
/// The most points of a sparkline sent to the webview.
const SPARK_POINTS: usize = 60;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    pub profile: String,
    pub label: String,
    pub sandbox: bool,
    pub ably: bool,
    /// A watch-only profile: the UI offers no change, and this console runs no notification worker (the
    /// box office's workers send the events; a read-only user could not acknowledge them).
    pub watch_only: bool,
    /// Production, staging or sandbox: the band across the window, and production's extra confirmation.
    pub environment: crate::profiles::Environment,
    /// The sandbox's buyer gateway (where a waiting page can be opened locally).
    pub gateway_url: Option<String>,
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
    /// The next scheduled opening of an UPCOMING show (`opening::next_opening`), for its countdown.
    pub next_opening: Option<NextOpening>,
    /// The statuses this show may change to now (the design guide's option B labels).
    pub allowed: Vec<StatusOption>,
}

/// What opens next and when (ms since the epoch).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NextOpening {
    pub what: String,
    pub at_ms: i64,
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
    // The local sandbox (its redis-server and buyer gateway), kept for the session's lifetime.
    local: Option<LocalStack>,
}

pub struct AppState {
    pub(crate) prefs: Box<dyn PrefsStore>,
    data_dir: PathBuf,
    actor: Actor,
    session: tokio::sync::Mutex<Option<Session>>,
    history: std::sync::Mutex<HashMap<String, VecDeque<(i64, u64)>>>,
    /// The last OS notification of each kind (its text, when): the same one is not repeated for 5 minutes.
    notified: std::sync::Mutex<HashMap<String, (String, i64)>>,
}

/// How long the same attention message stays quiet after it was shown.
const NOTIFY_QUIET_MS: i64 = 5 * 60 * 1000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl AppState {
    pub fn new(prefs: Box<dyn PrefsStore>, data_dir: PathBuf, actor: Actor) -> AppState {
        AppState {
            prefs,
            data_dir,
            actor,
            session: tokio::sync::Mutex::new(None),
            history: Default::default(),
            notified: Default::default(),
        }
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
                return Err(UiError::new(ErrorCode::Invalid, "The refresh interval is 2 to 300 seconds."));
            }
            self.prefs.set("refreshSeconds", json!(r)).map_err(|e| UiError::new(ErrorCode::Prefs, e))?;
        }
        if let Some(v) = last_view {
            if !["setup", "shows", "monitor", "audit"].contains(&v.as_str()) {
                return Err(UiError::new(ErrorCode::Invalid, "The view is one of setup, shows, monitor, audit."));
            }
            self.prefs.set("lastView", json!(v)).map_err(|e| UiError::new(ErrorCode::Prefs, e))?;
        }
        Ok(self.prefs_get())
    }

    async fn start_session(
        &self,
        info: ConnectionInfo,
        engine: Engine,
        ably: Option<Arc<AblyRest>>,
        local: Option<LocalStack>,
    ) -> ConnectionInfo {
        let consumer = format!("console-{}-{}", self.actor.host, std::process::id());
        let worker = Worker::start(engine.clone(), ably, &consumer, Duration::from_millis(500));
        let mut s = self.session.lock().await;
        if let Some(old) = s.take() {
            stop_session(old).await;
        }
        self.history.lock().expect("not poisoned").clear();
        let mut info = info;
        info.gateway_url = local.as_ref().and_then(|l| l.gateway_url().ok());
        *s = Some(Session { info: info.clone(), engine, worker, sim: None, local });
        info
    }

    pub async fn connect(&self, name: &str) -> UiResult<ConnectionInfo> {
        let p = self.profile(name)?;
        let redis = self.redis_for(&p).await?;
        let ably = if p.watch_only { None } else { self.ably_for(&p)? };
        let info = ConnectionInfo {
            profile: p.name.clone(),
            label: redis.label().to_string(),
            sandbox: false,
            ably: ably.is_some(),
            watch_only: p.watch_only,
            environment: p.environment,
            gateway_url: None,
        };
        let _ = self.prefs.set("lastProfile", json!(p.name));
        Ok(self.start_session(info, Engine::new(redis), ably, None).await)
    }

    /// The local sandbox: a redis-server in the app's data dir, the demo shows opened, simulated buyers.
    pub async fn start_sandbox(&self) -> UiResult<ConnectionInfo> {
        if let Some(s) = self.session.lock().await.as_ref().filter(|s| s.info.sandbox) {
            return Ok(s.info.clone()); // one sandbox at a time: its redis-server owns the data folder
        }
        let local = LocalStack::start(self.data_dir.join("sandbox"), &self.actor).await?;
        let engine = local.engine().clone();
        let info = ConnectionInfo {
            profile: "Local sandbox".into(),
            label: local.label(),
            sandbox: true,
            ably: false,
            watch_only: false,
            environment: crate::profiles::Environment::Sandbox,
            gateway_url: None,
        };
        let info = self.start_session(info, engine, None, Some(local)).await;
        // The next launch does not reconnect to the profile used before the sandbox (nor start the sandbox:
        // it runs simulated buyers; one click away on Setup).
        let _ = self.prefs.set("lastProfile", Value::Null);
        self.simulate(true).await?;
        Ok(info)
    }

    pub async fn disconnect(&self) {
        if let Some(s) = self.session.lock().await.take() {
            stop_session(s).await;
        }
    }

    /// Staff chose Disconnect: the next launch starts unconnected (a console closed while connected
    /// reconnects to its last profile at the next launch instead).
    pub async fn disconnect_by_hand(&self) {
        self.disconnect().await;
        let _ = self.prefs.set("lastProfile", Value::Null);
    }

    pub async fn connection(&self) -> Option<ConnectionInfo> {
        self.session.lock().await.as_ref().map(|s| s.info.clone())
    }

    async fn engine(&self) -> UiResult<Engine> {
        self.session.lock().await.as_ref().map(|s| s.engine.clone()).ok_or_else(|| {
            UiError::new(ErrorCode::NotConnected, "Not connected: pick a profile or start the local sandbox.")
        })
    }

    /// The engine, for a change: refused on a watch-only profile (Redis would refuse it too; this says so
    /// before anything is sent).
    async fn staff_engine(&self) -> UiResult<Engine> {
        Ok(self.staff_session().await?.0)
    }

    /// The engine for a change and the connection it belongs to, read together (a connection switched
    /// in between cannot pair one profile's guard with another's engine).
    async fn staff_session(&self) -> UiResult<(Engine, ConnectionInfo)> {
        let s = self.session.lock().await;
        let s = s.as_ref().ok_or_else(|| {
            UiError::new(ErrorCode::NotConnected, "Not connected: pick a profile or start the local sandbox.")
        })?;
        if s.info.watch_only {
            return Err(UiError::new(
                ErrorCode::ReadOnly,
                format!(
                    "Profile {} only watches: its credentials cannot change anything. Use a box-office profile.",
                    s.info.profile
                ),
            ));
        }
        Ok((s.engine.clone(), s.info.clone()))
    }

    // ---- shows ----

    pub async fn shows(&self) -> UiResult<Vec<ShowRow>> {
        let e = self.engine().await?;
        let now = seatwise_engine::gate::now_ms() as i64;
        Ok(e.list_shows()
            .await?
            .into_iter()
            .map(|show| ShowRow {
                status_label: show.status.label().to_string(),
                next_opening: seatwise_engine::opening::next_opening(&show, now)
                    .map(|(what, at_ms)| NextOpening { what: what.to_string(), at_ms }),
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
        let e = self.staff_engine().await?;
        let show: Show = serde_json::from_str(json_text).map_err(|err| {
            UiError::new(ErrorCode::Invalid, format!("The show is not valid: {err}. Expected id, name, venue and schedules (id, startsAt, timeZone, capacity)."))
        })?;
        Ok(match expected_version {
            None => e.create_show(&show, &self.actor).await?,
            Some(v) => e.update_show(&show, v, &self.actor).await?,
        })
    }

    pub async fn import_shows(&self, text: &str) -> UiResult<Vec<ImportOutcome>> {
        let e = self.staff_engine().await?;
        let shows = parse_shows_file("the imported file", text)?;
        Ok(e.import_shows(&shows, &self.actor).await?)
    }

    /// How many buyers a close would tell now: waiting plus in a session, over the show's schedules.
    pub async fn buyers_to_tell(&self, show: &str) -> UiResult<u64> {
        let e = self.engine().await?;
        let st = e.get_show_queue_status(&ShowId::new(show)?).await?;
        Ok(st.queue_statuses.iter().map(|q| q.stats.queue_size + q.stats.active_sessions).sum())
    }

    /// Changes a show's status. On a production connection, closing or cancelling needs `confirm` to be the
    /// show's id (typed by hand in the dialog): checked here too, so no other caller of the command skips it.
    pub async fn change_status(
        &self,
        show: &str,
        status: &str,
        expected_version: Option<u64>,
        confirm: Option<&str>,
    ) -> UiResult<StatusChange> {
        let (e, info) = self.staff_session().await?;
        let (id, status) = (ShowId::new(show)?, ShowStatus::parse(status)?);
        let production = !info.sandbox && info.environment == crate::profiles::Environment::Production;
        if production && matches!(status, ShowStatus::Closed | ShowStatus::Cancelled) && confirm != Some(id.as_str()) {
            return Err(UiError::new(
                ErrorCode::Unconfirmed,
                format!(
                    "This is a production connection: to {} show {id}, type its id ({id}) to confirm. Nothing was changed.",
                    if status == ShowStatus::Closed { "close" } else { "cancel" }
                ),
            ));
        }
        Ok(e.update_show_status(&id, status, &self.actor, expected_version).await?)
    }

    pub async fn audit(&self, show: Option<String>, limit: usize) -> UiResult<Vec<AuditRecord>> {
        let e = self.engine().await?;
        let id = show.as_deref().filter(|s| !s.is_empty()).map(ShowId::new).transpose()?;
        Ok(e.audit_log(limit.clamp(1, 1000), id.as_ref()).await?)
    }

    // ---- monitor ----

    pub async fn monitor(&self) -> UiResult<MonitorData> {
        let (engine, worker, sim) = {
            let s = self.session.lock().await;
            let s = s.as_ref().ok_or_else(|| UiError::new(ErrorCode::NotConnected, "Not connected."))?;
            (s.engine.clone(), s.worker.report(), s.sim.as_ref().map(|x| x.snapshot()))
        };
        let shows = engine.all_open_queue_status().await?;
        let at = now_ms();
        // A queue seen for the first time: its sparkline starts from the shared history of the last hour
        // (what the workers sampled before this console was opened).
        let unseen: Vec<Scope> = {
            let h = self.history.lock().expect("not poisoned");
            shows
                .iter()
                .flat_map(|s| &s.queue_statuses)
                .filter(|q| !h.contains_key(&q.show_scope_id))
                .filter_map(|q| Scope::parse(&q.show_scope_id).ok())
                .collect()
        };
        let past = engine.queue_histories(&unseen, at - HISTORY.as_millis() as i64).await;
        let seeds: Vec<(String, VecDeque<(i64, u64)>)> = unseen
            .iter()
            .zip(past)
            .map(|(scope, p)| (scope.to_string(), p.into_iter().map(|p| (p.at_ms, p.queue_size)).collect()))
            .collect();
        let mut h = self.history.lock().expect("not poisoned");
        h.extend(seeds);
        for show in &shows {
            for q in &show.queue_statuses {
                let d = h.entry(q.show_scope_id.clone()).or_default();
                d.push_back((at, q.stats.queue_size));
                while d.front().is_some_and(|(t, _)| at - t > HISTORY.as_millis() as i64) {
                    d.pop_front();
                }
            }
        }
        // A sparkline is 120 px wide: at most 60 points per queue cross to the webview, however long the
        // console has been open (an hour at a 2-second refresh is 1,800).
        let history = h
            .iter()
            .map(|(k, v)| {
                let step = v.len().div_ceil(SPARK_POINTS).max(1);
                let mut pts: Vec<u64> = v.iter().step_by(step).map(|(_, n)| *n).collect();
                if let Some((_, last)) = v.back()
                    && (v.len() - 1) % step != 0
                {
                    pts.push(*last); // always end on the latest figure
                }
                (k.clone(), pts)
            })
            .collect();
        Ok(MonitorData { at_ms: at, shows, history, worker: Some(worker), simulator: sim })
    }

    /// Whether an attention message of `kind` should go out as an OS notification now: checks its words
    /// and keeps the same message quiet for 5 minutes (a refresh every 10 s must not repeat it).
    pub fn should_notify(&self, kind: &str, text: &str) -> UiResult<bool> {
        if kind.is_empty() || kind.len() > 100 || text.is_empty() || text.chars().count() > 300 {
            return Err(UiError::new(
                ErrorCode::Invalid,
                "an attention message has a kind (1 to 100 characters) and a text (1 to 300 characters)",
            ));
        }
        let now = now_ms();
        let mut n = self.notified.lock().expect("not poisoned");
        if n.get(kind).is_some_and(|(t, at)| t == text && now - at < NOTIFY_QUIET_MS) {
            return Ok(false);
        }
        n.insert(kind.to_string(), (text.to_string(), now));
        Ok(true)
    }

    /// One queue's shared history for the last `hours` (0.1 to 48), or only its samples after `after_ms`.
    pub async fn queue_history(
        &self,
        scope: &str,
        hours: f64,
        after_ms: Option<i64>,
    ) -> UiResult<Vec<seatwise_engine::history::HistoryPoint>> {
        if !(0.1..=48.0).contains(&hours) {
            return Err(UiError::new(ErrorCode::Invalid, format!("history of {hours} hours: give 0.1 to 48 hours")));
        }
        let scope = Scope::parse(scope)?;
        let e = self.engine().await?;
        let since = now_ms() - (hours * 3_600_000.0) as i64;
        Ok(e.queue_history(&scope, after_ms.map_or(since, |a| since.max(a + 1))).await?)
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
        std::fs::create_dir_all(&dir).map_err(|e| UiError::new(ErrorCode::File, format!("{}: {e}", dir.display())))?;
        let path = dir.join(format!("seatwise-queues-{}.csv", chrono::Local::now().format("%Y%m%d-%H%M%S")));
        std::fs::write(&path, csv).map_err(|e| UiError::new(ErrorCode::File, format!("{}: {e}", path.display())))?;
        Ok(path.display().to_string())
    }

    // ---- queue actions (each recorded in the audit log) ----

    pub async fn queue_action(&self, scope: &str, action: &str, arg: Option<String>) -> UiResult<String> {
        let e = self.staff_engine().await?;
        let action = StaffAction::parse(action, arg.as_deref())?;
        Ok(e.perform(&self.actor, &Scope::parse(scope)?, &action).await?.message)
    }

    /// Starts or stops simulated buyers on every open queue of the current connection. The session lock
    /// is never held across a Redis call, so a slow Redis cannot block the monitor.
    pub async fn simulate(&self, on: bool) -> UiResult<Option<SimSnapshot>> {
        let (engine, old) = {
            let mut s = self.session.lock().await;
            let s = s.as_mut().ok_or_else(|| UiError::new(ErrorCode::NotConnected, "Not connected."))?;
            // Simulated buyers book seats: they run only on the local sandbox, never on a real connection.
            if on && !s.info.sandbox {
                return Err(UiError::new(
                    ErrorCode::Rejected,
                    "Simulated buyers run only on the local sandbox: on this connection they would book real seats.",
                ));
            }
            (s.engine.clone(), s.sim.take())
        };
        if let Some(sim) = old {
            sim.stop().await;
        }
        if !on {
            return Ok(None);
        }
        let sim = match LocalStack::simulate(&engine, SANDBOX_RATE).await {
            Err(seatwise_engine::Error::NoQueue(_)) => {
                return Err(UiError::new(
                    ErrorCode::NoQueue,
                    "No show is open: set a show to Open (Queue Active) first.",
                ));
            }
            other => other?,
        };
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
                return Err(UiError::new(ErrorCode::NotConnected, "Disconnected meanwhile."));
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
    if let Some(local) = s.local {
        local.stop().await;
    }
}
