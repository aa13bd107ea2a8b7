//! Shows and their schedules as data: the types, their checks in words, the shows file.

use super::*;

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
    /// How long a buyer who missed their turn may come back (absent = 10 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<f64>,
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
    /// Price zones by row (shown on the seat map with a legend); absent = one price, not shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<PriceZone>,
}

/// Rows sold at one price, e.g. `{"name": "Stalls", "price": "£45", "rows": ["A", "B"]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceZone {
    /// 1 to 40 characters.
    pub name: String,
    /// The price as the venue writes it (with its currency), 1 to 20 characters.
    pub price: String,
    /// Rows of the map, each in at most one zone.
    pub rows: Vec<String>,
}

impl Default for SeatMap {
    /// Eight rows (A–H) of twelve seats.
    fn default() -> Self {
        SeatMap { rows: "ABCDEFGH".chars().map(String::from).collect(), seats_per_row: 12, zones: Vec::new() }
    }
}

impl SeatMap {
    /// Whether `seat` is a seat of this map: a row label followed by a number from 1 to `seats_per_row`
    /// without leading zeros (as lua/lib/tickets.lua's `seats_outside_map` checks it).
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
        check_range("seats per row", self.seats_per_row as f64, 1.0, 200.0, "a row has 1 to 200 seats")?;
        if self.zones.len() > 8 {
            return Err(Error::invalid(
                "price zones",
                &self.zones.len().to_string(),
                "a seat map has at most 8 price zones",
            ));
        }
        let mut zoned = HashSet::new();
        for z in &self.zones {
            let (name, price) = (z.name.chars().count(), z.price.chars().count());
            if z.name.trim().is_empty() || name > 40 || z.name.chars().any(char::is_control) {
                return Err(Error::invalid("price zone name", &z.name, "1 to 40 characters, e.g. Stalls"));
            }
            if z.price.trim().is_empty() || price > 20 || z.price.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "price zone price",
                    &z.price,
                    "1 to 20 characters with the currency, e.g. £45",
                ));
            }
            for r in &z.rows {
                if !self.rows.contains(r) || !zoned.insert(r) {
                    return Err(Error::invalid(
                        "price zone row",
                        r,
                        "each row of a zone is a row of the map, in at most one zone",
                    ));
                }
            }
        }
        Ok(())
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
            grace_seconds: None,
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
            grace_ms: self.grace_seconds.map_or(d.grace_ms, |s| (s * 1000.0).round() as u64),
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
    /// How the waiting page looks for this show's venue (absent: the neutral page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<super::Theme>,
}

pub(crate) const MAX_SCHEDULES: usize = 1000;

pub(crate) fn check_range(what: &'static str, v: f64, lo: f64, hi: f64, rule: &str) -> Result<()> {
    if v.is_finite() && v >= lo && v <= hi { Ok(()) } else { Err(Error::invalid(what, &v.to_string(), rule)) }
}

pub(crate) fn check_text(what: &'static str, v: &str) -> Result<()> {
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
            theme: None,
            schedules,
        }
    }

    /// Checks every field; the error names the field, the value and what is allowed.
    pub fn validate(&self) -> Result<()> {
        check_text("show name", &self.name)?;
        check_text("venue", &self.venue)?;
        if let Some(t) = &self.theme {
            t.validate()?;
        }
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
                    "presence window",
                    v,
                    MIN_ABANDON_SECONDS,
                    86_400.0,
                    "the presence window (abandonSeconds) is 30 to 86400 seconds (pages near the front check in every 2 to 10 seconds: a shorter window would make a buyer whose check-in was merely late miss their turn)",
                )?;
            }
            if let Some(v) = s.grace_seconds {
                check_range(
                    "grace window",
                    v,
                    MIN_GRACE_SECONDS,
                    86_400.0,
                    "the grace window (graceSeconds) is 60 to 86400 seconds (a buyer who missed their turn needs at least a minute to come back; pages far back check in every half window, at most every 5 minutes)",
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

pub(crate) fn now_text() -> String {
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
/// The shortest presence window: pages near the front check in every 2 to 10 seconds, so 30 s lets a buyer
/// miss a few check-ins on a bad network before missing their turn.
pub const MIN_ABANDON_SECONDS: f64 = 30.0;
/// The shortest grace window for a buyer who missed their turn.
pub const MIN_GRACE_SECONDS: f64 = 60.0;

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
