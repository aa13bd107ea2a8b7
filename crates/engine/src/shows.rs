//! Shows and their schedules, `update_show_status`, import/export and the demo shows (the status and its
//! transition table are in `status.rs`, the audit log in `audit.rs`). Shows live in one Redis hash (`seatwise:{catalog}:shows`) so every console sees the same;
//! each change is a compare-and-set on the show's version, written with its audit entry by one script.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::audit::{Actor, AuditEvent, AuditRecord, QueueResult};
use crate::error::{Error, Result};
use crate::ids::{SchedId, Scope, ShowId};
use crate::keys;
use crate::queue::{CloseReason, Engine, QueueEffect, QueueSettings};
use crate::scripts::SCRIPTS;
use crate::status::ShowStatus::{self, *};

/// One performance of a show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schedule {
    pub id: SchedId,
    /// Local start date-time, `YYYY-MM-DDTHH:MM[:SS]`, in `time_zone`.
    pub starts_at: String,
    /// An IANA time zone, e.g. `Europe/London`.
    pub time_zone: String,
    /// Concurrent sessions the queue admits.
    pub capacity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seats: Option<u32>,
    /// The seats buyers pick from on the waiting page; absent = [`SeatMap::default`]. When given, admission
    /// is seat-aware: it stops while no seat is left (neither sold nor held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_map: Option<SeatMap>,
    /// At most this many admissions per minute (besides the capacity); absent = no limit. Staff change it
    /// live with `StaffAction::Outflow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outflow_per_minute: Option<u32>,
}

/// A simple seat layout: rows of numbered seats. Seat ids are the row label and the number: `A1`, `A2`, …
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeatMap {
    /// Row labels, front to back (1–3 letters or digits each).
    pub rows: Vec<String>,
    pub seats_per_row: u32,
}

impl Default for SeatMap {
    /// Eight rows (A–H) of twelve seats.
    fn default() -> Self {
        SeatMap { rows: "ABCDEFGH".chars().map(String::from).collect(), seats_per_row: 12 }
    }
}

impl SeatMap {
    /// Whether `seat` is a seat of this map: a row label followed by a number from 1 to `seats_per_row`
    /// without leading zeros (as lua/lib.lua's `seats_outside_map` checks it).
    pub fn contains(&self, seat: &str) -> bool {
        self.rows.iter().any(|r| {
            seat.strip_prefix(r.as_str()).is_some_and(|n| {
                !n.starts_with('0')
                    && !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && n.parse::<u32>().is_ok_and(|n| (1..=self.seats_per_row).contains(&n))
            })
        })
    }

    /// How many seats the map has.
    pub fn count(&self) -> u32 {
        self.rows.len() as u32 * self.seats_per_row
    }

    fn validate(&self) -> Result<()> {
        if self.rows.is_empty() || self.rows.len() > 60 {
            return Err(Error::invalid("seat map", &self.rows.len().to_string(), "a seat map has 1 to 60 rows"));
        }
        let mut seen = HashSet::new();
        for r in &self.rows {
            if r.is_empty() || r.len() > 3 || !r.chars().all(|c| c.is_ascii_alphanumeric()) || !seen.insert(r) {
                return Err(Error::invalid("seat row", r, "each row has its own label of 1 to 3 letters or digits"));
            }
        }
        check_range("seats per row", self.seats_per_row as f64, 1.0, 200.0, "a row has 1 to 200 seats")
    }
}

impl Schedule {
    /// A schedule with `capacity` sessions and every other setting its default.
    pub fn new(id: SchedId, starts_at: &str, time_zone: &str, capacity: u32) -> Schedule {
        Schedule {
            id,
            starts_at: starts_at.into(),
            time_zone: time_zone.into(),
            capacity,
            session_seconds: None,
            abandon_seconds: None,
            max_seats: None,
            seat_map: None,
            outflow_per_minute: None,
        }
    }

    /// The schedule's seat map (the default when the show does not give one).
    pub fn seats(&self) -> SeatMap {
        self.seat_map.clone().unwrap_or_default()
    }

    pub fn settings(&self) -> QueueSettings {
        let d = QueueSettings::default();
        QueueSettings {
            capacity: self.capacity,
            session_ms: self.session_seconds.map_or(d.session_ms, |s| (s * 1000.0).round() as u64),
            abandon_ms: self.abandon_seconds.map_or(d.abandon_ms, |s| (s * 1000.0).round() as u64),
            max_seats: self.max_seats.unwrap_or(d.max_seats),
            seats_total: self.seat_map.as_ref().map_or(0, SeatMap::count),
            outflow_per_min: self.outflow_per_minute.unwrap_or(0),
            seat_map: Some(self.seats()),
        }
    }

    /// The date part of the start, as the design guide's `schedDate`.
    pub fn date(&self) -> &str {
        self.starts_at.get(..10).unwrap_or(&self.starts_at)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Show {
    pub id: ShowId,
    pub name: String,
    pub venue: String,
    #[serde(default)]
    pub status: ShowStatus,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub updated_by: String,
    pub schedules: Vec<Schedule>,
    /// A demo show of the sandbox: the only kind of show simulated buyers ever touch. Set when the sandbox
    /// creates it, never by a shows file, an edit or an import.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    /// When the sale opens (RFC 3339, e.g. `2026-03-01T10:00:00Z`): a running worker sets the show OPEN
    /// then, once, if it is UPCOMING (see `opening.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_opens_at: Option<String>,
    /// When the pre-queue opens (before `sale_opens_at`): buyers who join until the sale opens are placed
    /// in a drawn random order at the opening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_queue_opens_at: Option<String>,
}

const MAX_SCHEDULES: usize = 1000;

fn check_range(what: &'static str, v: f64, lo: f64, hi: f64, rule: &str) -> Result<()> {
    if v.is_finite() && v >= lo && v <= hi { Ok(()) } else { Err(Error::invalid(what, &v.to_string(), rule)) }
}

fn check_text(what: &'static str, v: &str) -> Result<()> {
    let n = v.trim().chars().count();
    if n == 0 || n > 200 || v.chars().any(char::is_control) {
        return Err(Error::invalid(what, v, "write 1 to 200 characters, without control characters"));
    }
    Ok(())
}

impl Show {
    /// A new draft show (name = id) with these schedules: the one way tests, the benchmark and examples
    /// build a show in code.
    pub fn draft(id: ShowId, venue: &str, schedules: Vec<Schedule>) -> Show {
        Show {
            name: id.to_string(),
            id,
            venue: venue.into(),
            status: ShowStatus::Draft,
            version: 0,
            updated_at: String::new(),
            updated_by: String::new(),
            demo: false,
            sale_opens_at: None,
            pre_queue_opens_at: None,
            schedules,
        }
    }

    /// Checks every field; the error names the field, the value and what is allowed.
    pub fn validate(&self) -> Result<()> {
        check_text("show name", &self.name)?;
        check_text("venue", &self.venue)?;
        let when = |what: &'static str, v: &Option<String>| -> Result<Option<i64>> {
            v.as_deref()
                .map(|t| {
                    chrono::DateTime::parse_from_rfc3339(t).map(|d| d.timestamp_millis()).map_err(|_| {
                        Error::invalid(what, t, "write an RFC 3339 time with its offset, e.g. 2026-03-01T10:00:00Z")
                    })
                })
                .transpose()
        };
        let sale = when("sale opening", &self.sale_opens_at)?;
        let pre = when("pre-queue opening", &self.pre_queue_opens_at)?;
        match (pre, sale) {
            (Some(_), None) => {
                return Err(Error::invalid(
                    "pre-queue opening",
                    self.pre_queue_opens_at.as_deref().unwrap_or(""),
                    "a pre-queue needs a sale opening time (saleOpensAt) to end at",
                ));
            }
            (Some(p), Some(s)) if p >= s => {
                return Err(Error::invalid(
                    "pre-queue opening",
                    self.pre_queue_opens_at.as_deref().unwrap_or(""),
                    "the pre-queue opens before the sale does",
                ));
            }
            _ => {}
        }
        if self.schedules.len() > MAX_SCHEDULES {
            return Err(Error::invalid(
                "schedule list",
                self.id.as_str(),
                format!("a show has at most {MAX_SCHEDULES} schedules"),
            ));
        }
        let mut seen = HashSet::new();
        for s in &self.schedules {
            if !seen.insert(s.id.as_str()) {
                return Err(Error::invalid("schedule id", s.id.as_str(), "each schedule of a show needs its own id"));
            }
            let parsed = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
                .iter()
                .any(|f| NaiveDateTime::parse_from_str(&s.starts_at, f).is_ok());
            if !parsed {
                return Err(Error::invalid(
                    "schedule start",
                    &s.starts_at,
                    "write the local start as YYYY-MM-DDTHH:MM, e.g. 2026-03-15T19:30",
                ));
            }
            if s.time_zone.parse::<chrono_tz::Tz>().is_err() {
                return Err(Error::invalid(
                    "time zone",
                    &s.time_zone,
                    "use an IANA time zone name, e.g. Europe/London or America/New_York",
                ));
            }
            check_range(
                "capacity",
                s.capacity as f64,
                1.0,
                100_000.0,
                "a capacity is 1 to 100000 concurrent sessions",
            )?;
            if let Some(v) = s.session_seconds {
                check_range(
                    "session length",
                    v,
                    MIN_SESSION_SECONDS,
                    86_400.0,
                    "a session lasts 60 to 86400 seconds (a buyer needs at least a minute to choose seats and pay)",
                )?;
            }
            if let Some(v) = s.abandon_seconds {
                check_range(
                    "abandonment window",
                    v,
                    MIN_ABANDON_SECONDS,
                    86_400.0,
                    "the abandonment window is 30 to 86400 seconds (waiting pages check in every 5 to 10 seconds: a shorter window would drop buyers whose check-in was merely late)",
                )?;
            }
            if let Some(v) = s.max_seats {
                check_range("seats per session", v as f64, 1.0, 100.0, "a session may hold 1 to 100 seats")?;
            }
            if let Some(m) = &s.seat_map {
                m.validate()?;
            }
            if let Some(v) = s.outflow_per_minute {
                check_range(
                    "outflow limit",
                    v as f64,
                    1.0,
                    crate::queue::MAX_OUTFLOW_PER_MIN as f64,
                    "an outflow limit is 1 to 100000 admissions per minute (leave it out for no limit)",
                )?;
            }
        }
        Ok(())
    }

    pub fn scopes(&self) -> Vec<(Scope, &Schedule)> {
        self.schedules.iter().map(|s| (Scope::new(self.id.clone(), s.id.clone()), s)).collect()
    }
}

/// What `update_show_status` returns: the design guide's server-action result, plus the show as now stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub success: bool,
    pub message: String,
    pub queue_results: Vec<QueueResult>,
    pub show: Show,
}

/// What import did with one show.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportOutcome {
    pub show: String,
    pub action: String,
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses a shows file: `{"shows": [...]}` or a bare array.
pub fn parse_shows_file(path: &str, text: &str) -> Result<Vec<Show>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        shows: Vec<Show>,
    }
    let file_err = |e: serde_json::Error| Error::File {
        path: path.to_string(),
        detail: format!(
            "not a shows file ({e}); expected {{\"shows\": [{{\"id\", \"name\", \"venue\", \"schedules\": [{{\"id\", \"startsAt\", \"timeZone\", \"capacity\"}}]}}]}}"
        ),
    };
    let shows = if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<Show>>(text).map_err(file_err)?
    } else {
        serde_json::from_str::<File>(text).map_err(file_err)?.shows
    };
    let mut ids = HashSet::new();
    for s in &shows {
        s.validate()?;
        if s.demo {
            return Err(Error::File {
                path: path.to_string(),
                detail: format!(
                    "show {} says \"demo\": demo shows are made only by the local sandbox (remove the field)",
                    s.id
                ),
            });
        }
        if !ids.insert(s.id.clone()) {
            return Err(Error::File { path: path.to_string(), detail: format!("show {} appears twice", s.id) });
        }
    }
    Ok(shows)
}

/// The shortest session a schedule may have: a buyer needs at least a minute to choose seats and pay.
pub const MIN_SESSION_SECONDS: f64 = 60.0;
/// The shortest abandonment window: waiting pages check in every 5 to 10 seconds (the gateway advises 5),
/// so 30 s lets a buyer miss a few check-ins on a bad network before losing the place.
pub const MIN_ABANDON_SECONDS: f64 = 30.0;

/// The demo shows of the local sandbox (`seatwise demo`, the console's sandbox).
pub const DEMO_SHOWS: &str = include_str!("../demo-shows.json");

impl Engine {
    /// Imports the demo shows and sets each to OPEN (through DRAFT if its status cannot open directly),
    /// so the sandbox has queues whatever state a previous run left. Returns the shows.
    pub async fn open_demo_shows(&self, actor: &Actor) -> Result<Vec<Show>> {
        self.open_demo_shows_claiming(actor, false).await
    }

    /// [`Engine::open_demo_shows`]; `claim` = the Redis is the sandbox's own, where a show with a demo id
    /// left by an older version may be marked as a demo show. Elsewhere an existing show with a demo id that
    /// is not a demo show is never edited: the call is refused.
    pub(crate) async fn open_demo_shows_claiming(&self, actor: &Actor, claim: bool) -> Result<Vec<Show>> {
        let mut shows = parse_shows_file("demo-shows.json", DEMO_SHOWS)?;
        for s in &mut shows {
            s.demo = true;
        }
        let existing: BTreeMap<ShowId, Show> =
            self.list_shows().await?.into_iter().map(|s| (s.id.clone(), s)).collect();
        for s in &shows {
            match existing.get(&s.id) {
                Some(cur) if !cur.demo && !claim => {
                    return Err(rejected(
                        &cur.id,
                        "a show with this id exists and is not a demo show: the demo never edits it (choose another Redis for the demo)".into(),
                    ));
                }
                Some(cur) => {
                    let same = cur.name == s.name && cur.venue == s.venue && cur.schedules == s.schedules;
                    if !same || !cur.demo {
                        self.write_show(s, cur, actor).await?;
                    }
                }
                None => {
                    self.insert_show(s, actor).await?;
                }
            }
        }
        for s in &shows {
            let id = s.id.clone();
            let cur = self.get_show(&id).await?;
            if cur.status != Open {
                if !cur.status.can_become(Open) {
                    self.update_show_status(&id, Draft, actor, None).await?;
                }
                self.update_show_status(&id, Open, actor, None).await?;
            }
        }
        Ok(shows)
    }

    /// The queues of live demo shows (of those in `only`, when given): the only queues simulated buyers
    /// may use. Naming a show that is not a demo show is an error that says why.
    pub async fn demo_scopes(&self, only: &[ShowId]) -> Result<Vec<Scope>> {
        let shows = self.list_shows().await?;
        if let Some(real) = shows.iter().find(|s| !s.demo && only.contains(&s.id)) {
            return Err(rejected(
                &real.id,
                "simulated buyers only ever use demo shows (made by `seatwise demo` or the console's local sandbox): they would book real seats here".into(),
            ));
        }
        Ok(shows
            .iter()
            .filter(|s| s.demo && s.status.has_live_queues() && (only.is_empty() || only.contains(&s.id)))
            .flat_map(|s| s.scopes().into_iter().map(|(sc, _)| sc))
            .collect())
    }

    /// The queues of every show whose queues may hold buyers (OPEN, ON_GOING, POSTPONED), or of the shows
    /// in `only` among them.
    pub async fn live_scopes(&self, only: &[ShowId]) -> Result<Vec<Scope>> {
        Ok(self
            .list_shows()
            .await?
            .iter()
            .filter(|s| s.status.has_live_queues() && (only.is_empty() || only.contains(&s.id)))
            .flat_map(|s| s.scopes().into_iter().map(|(sc, _)| sc))
            .collect())
    }

    pub async fn list_shows(&self) -> Result<Vec<Show>> {
        let all: BTreeMap<String, String> = self.redis().query(redis::cmd("HGETALL").arg(keys::CATALOG)).await?;
        all.into_values().map(|j| decode_show(&j)).collect()
    }

    pub async fn get_show(&self, id: &ShowId) -> Result<Show> {
        let j: Option<String> = self.redis().query(redis::cmd("HGET").arg(keys::CATALOG).arg(id.as_str())).await?;
        decode_show(&j.ok_or_else(|| Error::ShowNotFound(id.to_string()))?)
    }

    /// Writes `show` if its version is still `expected` (0: it must not exist yet), with its audit record,
    /// in one script.
    async fn cas(&self, show: &Show, expected: u64, actor: &Actor, event: AuditEvent) -> Result<()> {
        let mut args =
            vec![show.id.to_string(), expected.to_string(), serde_json::to_string(show).expect("a show serialises")];
        for (k, v) in AuditRecord::new(actor, &show.updated_at, event).fields() {
            args.push(k.to_string());
            args.push(v);
        }
        let r =
            self.redis().eval(&SCRIPTS.show_cas, &[keys::CATALOG.to_string(), keys::AUDIT.to_string()], &args).await?;
        crate::replies::show_written(show, r)
    }

    /// Creates a show at version 1. A new show starts as DRAFT or UPCOMING (opening it is a status change).
    pub async fn create_show(&self, show: &Show, actor: &Actor) -> Result<Show> {
        if show.demo {
            return Err(rejected(&show.id, "demo shows are made only by the local sandbox".into()));
        }
        self.insert_show(show, actor).await
    }

    async fn insert_show(&self, show: &Show, actor: &Actor) -> Result<Show> {
        show.validate()?;
        if !matches!(show.status, Draft | Upcoming) {
            return Err(rejected(
                &show.id,
                format!(
                    "a new show starts as DRAFT or UPCOMING, not {}; create it, then change its status",
                    show.status
                ),
            ));
        }
        let mut s = show.clone();
        s.version = 1;
        s.updated_at = now_text();
        s.updated_by = actor.label();
        let event = AuditEvent::Create { show: s.id.clone(), version: 1, status: s.status };
        self.cas(&s, 0, actor, event).await?;
        Ok(s)
    }

    /// Updates a show's name, venue and schedules (not its status), if its version is still `expected`.
    /// While its queues may hold buyers (OPEN, ON_GOING, POSTPONED) no schedule may be removed.
    pub async fn update_show(&self, show: &Show, expected: u64, actor: &Actor) -> Result<Show> {
        show.validate()?;
        let cur = self.get_show(&show.id).await?;
        if cur.version != expected {
            return Err(Error::Conflict { show: cur.id.to_string(), current: cur.status, version: cur.version });
        }
        // Whether a show is a demo show is never changed by an edit.
        let mut show = show.clone();
        show.demo = cur.demo;
        self.write_show(&show, &cur, actor).await
    }

    /// Writes `show` over `cur` (its name, venue, schedules and demo flag; never its status), if `cur` is
    /// still the stored version.
    async fn write_show(&self, show: &Show, cur: &Show, actor: &Actor) -> Result<Show> {
        show.validate()?;
        let expected = cur.version;
        let kept: HashSet<&str> = show.schedules.iter().map(|s| s.id.as_str()).collect();
        let removed: Vec<(Scope, &Schedule)> =
            cur.scopes().into_iter().filter(|(_, s)| !kept.contains(s.id.as_str())).collect();
        if let Some((_, gone)) = removed.first().filter(|_| cur.status.has_live_queues()) {
            return Err(rejected(
                &cur.id,
                format!(
                    "schedule {} has a live queue while the show is {}: close the show before removing it",
                    gone.id, cur.status
                ),
            ));
        }
        // A closed schedule keeps its outbox until every buyer was told (the worker reads the outboxes of
        // the show's schedules): it cannot go before that.
        for (scope, sched) in &removed {
            let pending: u64 = self.redis().query(redis::cmd("XLEN").arg(keys::outbox(scope))).await?;
            if pending > 0 {
                return Err(rejected(
                    &cur.id,
                    format!(
                        "schedule {} still has {pending} notifications to send to its buyers: remove it once they went out (a running worker sends them)",
                        sched.id
                    ),
                ));
            }
        }
        let mut s = show.clone();
        s.status = cur.status;
        s.version = expected + 1;
        s.updated_at = now_text();
        s.updated_by = actor.label();
        let event = AuditEvent::Update { show: s.id.clone(), version: s.version, status: s.status };
        self.cas(&s, expected, actor, event).await?;
        // A schedule added while the show is on sale gets its queue at once.
        if matches!(cur.status, Open | OnGoing) {
            let before: HashSet<&str> = cur.schedules.iter().map(|x| x.id.as_str()).collect();
            for (scope, sched) in s.scopes().into_iter().filter(|(_, x)| !before.contains(x.id.as_str())) {
                self.open_queue_at_version(&scope, &sched.settings(), Some(s.version)).await?;
            }
        }
        Ok(s)
    }

    /// Imports shows: new ones are created (as DRAFT, or UPCOMING if the file says so), existing ones get
    /// the file's name, venue and schedules. Statuses are never changed by an import.
    pub async fn import_shows(&self, shows: &[Show], actor: &Actor) -> Result<Vec<ImportOutcome>> {
        let existing: BTreeMap<ShowId, Show> =
            self.list_shows().await?.into_iter().map(|s| (s.id.clone(), s)).collect();
        let mut out = Vec::new();
        for show in shows {
            let action = match existing.get(&show.id) {
                Some(cur) => {
                    let same = cur.name == show.name && cur.venue == show.venue && cur.schedules == show.schedules;
                    if same {
                        "unchanged".to_string()
                    } else {
                        self.update_show(show, cur.version, actor).await?;
                        "updated".to_string()
                    }
                }
                None => {
                    let mut s = show.clone();
                    let note = if matches!(s.status, Draft | Upcoming) {
                        String::new()
                    } else {
                        let n = format!(" as DRAFT (the file says {}: set the status to open its queues)", s.status);
                        s.status = Draft;
                        n
                    };
                    self.create_show(&s, actor).await?;
                    format!("created{note}")
                }
            };
            out.push(ImportOutcome { show: show.id.to_string(), action });
        }
        Ok(out)
    }

    /// The shows file of every show, as import reads it.
    pub async fn export_shows(&self) -> Result<String> {
        let shows = self.list_shows().await?;
        Ok(serde_json::to_string_pretty(&serde_json::json!({ "shows": shows })).expect("shows serialise"))
    }

    /// Changes a show's status and applies the effect to every schedule's queue: OPEN initialises (or
    /// resumes), POSTPONED pauses, CLOSED and CANCELLED close, the others leave queues as they are.
    /// `expected_version`: the version the caller saw; a different current version is a conflict. None
    /// means "the version read now" (so a concurrent change between read and write is still a conflict).
    pub async fn update_show_status(
        &self,
        id: &ShowId,
        to: ShowStatus,
        actor: &Actor,
        expected_version: Option<u64>,
    ) -> Result<StatusChange> {
        let cur = self.get_show(id).await?;
        if let Some(v) = expected_version
            && v != cur.version
        {
            return Err(Error::Conflict { show: cur.id.to_string(), current: cur.status, version: cur.version });
        }
        let from = cur.status;
        if !from.can_become(to) {
            let allowed: Vec<&str> = from.allowed_targets().iter().map(|s| s.as_str()).collect();
            return Err(Error::IllegalTransition { show: cur.id.to_string(), from, to, allowed: allowed.join(", ") });
        }
        let mut next = cur.clone();
        next.status = to;
        next.version = cur.version + 1;
        next.updated_at = now_text();
        next.updated_by = actor.label();
        let event = AuditEvent::Status { show: next.id.clone(), from, to, version: next.version };
        self.cas(&next, cur.version, actor, event).await?;

        let version = next.version;
        let effects = next.scopes().into_iter().map(|(scope, sched)| async move {
            let r = match to {
                Open => self.open_queue_at_version(&scope, &sched.settings(), Some(version)).await,
                Postponed => self.pause_queue_at_version(&scope, Some(version)).await,
                Closed => self.close_queue_at_version(&scope, CloseReason::Closed, Some(version)).await,
                Cancelled => self.close_queue_at_version(&scope, CloseReason::Cancelled, Some(version)).await,
                Draft | Upcoming | OnGoing => Ok(QueueEffect::Unchanged),
            };
            let show_scope_id = scope.to_string();
            match r {
                Ok(e) => QueueResult { show_scope_id, message: e.message(), ok: true, effect: Some(e), error: None },
                Err(e) => QueueResult {
                    show_scope_id,
                    message: format!("failed: {e}"),
                    ok: false,
                    effect: None,
                    error: Some(e.code()),
                },
            }
        });
        let queue_results = futures::future::join_all(effects).await;
        let failed = queue_results.iter().filter(|r| !r.ok).count();
        let verb = if from == to { "re-applied" } else { "changed" };
        let message = if failed == 0 {
            format!("{} status {verb}: {from} → {to} ({} schedules)", next.id, queue_results.len())
        } else {
            format!(
                "{} status {verb}: {from} → {to}, but {failed} of {} schedules failed; set the status to {to} again to retry them (it is idempotent)",
                next.id,
                queue_results.len()
            )
        };
        let event = AuditEvent::Result {
            show: next.id.clone(),
            from,
            to,
            version,
            success: failed == 0,
            message: message.clone(),
            results: queue_results.clone(),
        };
        self.write_audit(&AuditRecord::now(actor, event)).await?;
        Ok(StatusChange { success: failed == 0, message, queue_results, show: next })
    }
}

/// A show change refused for a reason in words.
fn rejected(show: &ShowId, reason: String) -> Error {
    Error::ShowRejected { show: show.to_string(), reason }
}

fn decode_show(json: &str) -> Result<Show> {
    serde_json::from_str(json).map_err(|e| Error::Redis(format!("a stored show record is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let d1 = Schedule::new(SchedId::new("d1").unwrap(), "2026-03-15T19:30", "Europe/London", 50);
        let mut show = Show::draft(ShowId::new("s1").unwrap(), "Globe", vec![d1]);
        show.validate().unwrap();
        show.schedules[0].time_zone = "Mars/Olympus".into();
        assert!(show.validate().unwrap_err().to_string().contains("IANA"));
        show.schedules[0].time_zone = "UTC".into();
        show.schedules[0].starts_at = "15/03/2026".into();
        assert!(show.validate().unwrap_err().to_string().contains("YYYY-MM-DDTHH:MM"));
        show.schedules[0].starts_at = "2026-03-15T19:30".into();
        show.schedules.push(show.schedules[0].clone());
        assert!(show.validate().unwrap_err().to_string().contains("its own id"));
    }
}
