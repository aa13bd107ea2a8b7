//! Monitoring: per schedule the design guide's `getShowQueueStatus` figures and more, for one show or for every
//! show whose queues may be live. Two round trips whatever the number of schedules: one read of the
//! catalog, one pipeline of `stats.lua` calls (O(1) work each).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{SchedId, Scope, ShowId};
use crate::keys;
use crate::queue::Engine;
use crate::scripts::{Call, SCRIPTS};
use crate::shows::Show;
use crate::status::ShowStatus;

/// Where a queue stands, as the scripts report it (serialized as `open`, `paused`, … for the console and
/// the gateway's public status).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    Open,
    Paused,
    Closed,
    /// Buyers join and wait; the order is drawn at the sale's opening.
    Prequeue,
    /// Never opened.
    #[default]
    None,
    /// Its figures could not be read (the row carries the error in `closedReason`).
    Error,
}

impl QueueState {
    /// The state as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueState::Open => "open",
            QueueState::Paused => "paused",
            QueueState::Closed => "closed",
            QueueState::Prequeue => "prequeue",
            QueueState::None => "none",
            QueueState::Error => "error",
        }
    }

    /// The state a script's meta `state` field names (an unknown one is an error row).
    pub(crate) fn from_meta(text: &str) -> QueueState {
        match text {
            "open" => QueueState::Open,
            "paused" => QueueState::Paused,
            "closed" => QueueState::Closed,
            "prequeue" => QueueState::Prequeue,
            "none" | "" => QueueState::None,
            _ => QueueState::Error,
        }
    }

    /// Buyers may be waiting or choosing seats in it.
    pub fn is_live(self) -> bool {
        matches!(self, QueueState::Open | QueueState::Paused)
    }
}

impl std::fmt::Display for QueueState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One queue's figures.
/// A message staff sent to a queue's buyers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Announcement {
    pub message: String,
    /// When it was sent (ms since the epoch).
    pub at_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    pub state: QueueState,
    pub generation: u64,
    pub queue_size: u64,
    pub active_sessions: u64,
    pub capacity: u64,
    pub avg_service_ms: u64,
    /// queueSize × avgServiceMs, as the design guide computes it.
    pub estimated_wait_time: u64,
    pub admitted_total: u64,
    pub abandoned_total: u64,
    pub completed_total: u64,
    pub expired_total: u64,
    pub left_total: u64,
    pub removed_total: u64,
    /// Events in the outbox not yet delivered to Ably.
    pub pending_events: u64,
    /// Buyers' private events not recorded because the outbox was full (no worker running): they learn
    /// them by polling. See docs/PROTOCOL.md, "Outbox bound".
    pub outbox_dropped: u64,
    /// Buyers of the closed generation still to be told that the queue closed.
    pub to_tell: u64,
    pub session_ms: u64,
    pub abandon_ms: u64,
    /// Buyers who missed their turn and may still come back (in their grace window) now.
    pub missed_now: u64,
    /// Buyers back after missing their turn, waiting ahead of the line now.
    pub returned_now: u64,
    /// Turns missed so far this generation (back in time or not).
    pub missed_total: u64,
    /// The grace window of a buyer who missed their turn.
    pub grace_ms: u64,
    /// The latest announcement staff made to this queue's buyers (this generation).
    pub announcement: Option<Announcement>,
    /// Since when the queue is paused (None while it is not).
    pub paused_since_ms: Option<u64>,
    /// Whether the time per admission was measured (≥ 5 admissions counted); before that, wait estimates
    /// are a first guess (a full session per place).
    pub estimate_measured: bool,
    pub max_seats: u64,
    /// Tickets issued in this generation.
    pub tickets_issued: u64,
    pub opened_at_ms: u64,
    pub closed_reason: String,
    /// Proof-of-work difficulty of a join, in leading zero bits (0 = no challenge); see docs/PROTOCOL.md.
    pub pow_bits: u32,
    /// Admissions per minute at most (0 = no limit).
    pub outflow_per_min: u32,
    /// Seat count of a seat-aware queue (0 = not seat-aware) and the seats neither sold nor held.
    pub seats_total: u64,
    pub seats_left: i64,
    /// The rank beyond which the seats left are very likely gone before the buyer's turn (see
    /// [`likely_sold_out_rank`]); None when the queue is not seat-aware.
    pub likely_sold_out_rank: Option<u64>,
    /// The pre-queue draw: the SHA-256 commitment (published when the pre-queue opened), the seed (empty
    /// until the opening reveals it) and how many pre-queue tickets were drawn.
    pub draw_commit: String,
    pub draw_seed: String,
    pub draw_count: u64,
    /// The wait estimate's inputs (see [`QueueStats::eta_range`]): the measured time per admission (ms) and
    /// the share of buyers ahead expected to be admitted rather than drop out (millionths).
    pub ms_per_admission: u64,
    pub admit_share_ppm: u64,
    /// Admissions counted in the last 60 s (the measured outflow).
    pub admissions_per_min: u64,
    /// How good the estimates were: the median absolute error of the p50 shown at join against the wait
    /// the sampled buyers actually had, in % of that wait (None until 5 sampled buyers were admitted), and
    /// how many recent samples it is the median of.
    pub estimate_error_pct: Option<f64>,
    pub estimate_samples: u64,
    /// The 10th and 90th percentiles of those samples' signed error, (shown − actual) ÷ actual in %: the
    /// ranges shown to buyers are widened to cover them (see [`QueueStats::eta_range`]).
    pub estimate_error_p10_pct: f64,
    pub estimate_error_p90_pct: f64,
}

/// Seats a booking takes when nothing is measured yet.
const DEFAULT_SEATS_PER_ADMISSION: f64 = 2.0;

/// Where the seats run out: each admission is expected to take `sold ÷ admitted` seats of this generation
/// (the measured hold-to-booking ratio times seats per booking; 2 until 10 buyers were admitted); the
/// sessions running now take theirs first. Buyers ranked beyond the result will very likely find no seat.
pub fn likely_sold_out_rank(total: u64, left: i64, active: u64, sold_gen: u64, admitted: u64) -> Option<u64> {
    if total == 0 {
        return None;
    }
    let per = if admitted >= 10 { (sold_gen as f64 / admitted as f64).max(0.1) } else { DEFAULT_SEATS_PER_ADMISSION };
    let after_sessions = left as f64 - active as f64 * per;
    Some((after_sessions / per).floor().max(0.0) as u64)
}

/// A wait estimate with its honest range (docs/PROTOCOL.md, "Wait estimates").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EtaRange {
    pub p10_ms: u64,
    pub p50_ms: u64,
    pub p90_ms: u64,
    /// Nothing measured yet: a first guess from the session length and capacity (it narrows as the sale
    /// runs).
    pub guess: bool,
}

impl QueueStats {
    /// The wait of a buyer at `rank`: the admissions still needed before theirs (those ahead, less the
    /// share measured to drop out, plus their own) times the measured time per admission — admissions
    /// counted over a moving window (lua/lib/estimate.lua `est_count`), scaled to the capacity now, never faster than
    /// the outflow limit — with a 10th–90th percentile range: admissions as a Poisson process (±1.28 √k)
    /// widened by 20 % for the outflow changing (capacity, session lengths), and by the queue's measured
    /// error (see `estimate_error_p10_pct`). The p50 is what lua/lib/estimate.lua's
    /// `est_p50` records for sampled buyers, so the error reported is the error of what buyers were shown.
    pub fn eta_range(&self, rank: u64) -> EtaRange {
        if rank == 0 {
            return EtaRange::default();
        }
        let keep = self.admit_share_ppm as f64 / 1_000_000.0;
        let k = (rank - 1) as f64 * keep + 1.0;
        let ms = self.ms_per_admission as f64;
        let spread = 1.2816 * k.sqrt();
        // The operations in lua/lib/estimate.lua's order, so both round alike.
        let p50 = (((rank - 1) * self.admit_share_ppm) as f64 / 1_000_000.0 + 1.0) * ms;
        let (mut p10, mut p90) = ((k - spread).max(0.0) * ms * 0.8, (k + spread) * ms * 1.25);
        // Calibrated by the queue's own record: with 20 scored samples, the range also covers the waits
        // that 10–90 % of earlier buyers had relative to what they were shown (actual = shown ÷ (1 + error)).
        if self.estimate_samples >= 20 {
            let ratio = |pct: f64| (1.0 + pct / 100.0).max(0.1);
            p10 = p10.min(p50 / ratio(self.estimate_error_p90_pct));
            p90 = p90.max(p50 / ratio(self.estimate_error_p10_pct));
        }
        EtaRange { p10_ms: p10 as u64, p50_ms: p50 as u64, p90_ms: p90 as u64, guess: !self.estimate_measured }
    }

    pub fn paused(&self) -> bool {
        self.state == QueueState::Paused
    }
}

/// One schedule's row of the monitor.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleQueueStatus {
    pub sched_id: SchedId,
    pub sched_date: String,
    pub starts_at: String,
    pub time_zone: String,
    pub show_scope_id: String,
    pub paused: bool,
    #[serde(flatten)]
    pub stats: QueueStats,
    pub forecast: Forecast,
}

/// What staff plan by (the monitor): when everyone waiting now will have had their turn at the current
/// outflow, and when the seats run out (the admission of the likely-sold-out rank), as p10–p90 ranges from
/// now. None when it does not apply (nobody waits; not seat-aware or not before the end of the queue).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Forecast {
    pub cleared_in: Option<EtaRange>,
    pub sold_out_in: Option<EtaRange>,
}

impl QueueStats {
    pub fn forecast(&self) -> Forecast {
        let live = self.state.is_live();
        Forecast {
            cleared_in: (live && self.queue_size > 0).then(|| self.eta_range(self.queue_size)),
            sold_out_in: self
                .likely_sold_out_rank
                .filter(|r| live && *r < self.queue_size)
                .map(|r| if r == 0 { EtaRange::default() } else { self.eta_range(r) }),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowQueueStatus {
    pub show_id: ShowId,
    pub name: String,
    pub venue: String,
    pub status: ShowStatus,
    pub queue_statuses: Vec<ScheduleQueueStatus>,
    /// Scheduled openings (RFC 3339), for countdowns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale_opens_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_queue_opens_at: Option<String>,
    /// The waiting page's look (for the gateway; not sent to the console's monitor: a logo is up to 16 KiB).
    #[serde(skip)]
    pub theme: Option<crate::shows::Theme>,
}

impl Engine {
    /// Figures for many queues in one pipeline (one round trip).
    /// On a watch-only connection the figures come from the read-only script (no housekeeping).
    pub async fn queue_stats(&self, scopes: &[Scope]) -> Result<Vec<Result<QueueStats>>> {
        // A read-only user may not call TIME: the read-only script is given the clock.
        let (stats_script, args) = if self.redis().watch_only() {
            (&SCRIPTS.stats_ro, vec![chrono::Utc::now().timestamp_millis().to_string()])
        } else {
            (&SCRIPTS.stats, vec![])
        };
        let calls: Vec<Call> = scopes
            .iter()
            .map(|s| Call { script: stats_script, keys: keys::queue_keys(s).to_vec(), args: args.clone() })
            .collect();
        let mut stats: Vec<Result<QueueStats>> =
            self.redis().eval_many(&calls).await?.into_iter().map(|r| r.map(|r| crate::replies::stats(&r))).collect();
        // A closed queue whose buyers are still being told: how many remain (one BITCOUNT each, only then).
        let draining: Vec<(usize, String)> = stats
            .iter()
            .enumerate()
            .filter_map(|(i, st)| match st {
                Ok(st) if st.state == QueueState::Closed && st.pending_events > 0 => {
                    Some((i, keys::closing(&scopes[i], st.generation)))
                }
                _ => None,
            })
            .collect();
        if !draining.is_empty() {
            let counts = self.per_key("BITCOUNT", &draining).await?;
            for ((i, _), v) in draining.iter().zip(counts) {
                if let (Ok(st), redis::Value::Int(n)) = (&mut stats[*i], v) {
                    st.to_tell = n.max(0) as u64;
                }
            }
        }
        Ok(stats)
    }

    async fn status_of(&self, shows: Vec<Show>) -> Result<Vec<ShowQueueStatus>> {
        let scopes: Vec<Scope> = shows.iter().flat_map(|s| s.scopes().into_iter().map(|(sc, _)| sc)).collect();
        let mut stats = self.queue_stats(&scopes).await?.into_iter();
        let mut out = Vec::with_capacity(shows.len());
        for show in shows {
            let mut rows = Vec::new();
            for (scope, sched) in show.scopes() {
                // One broken queue shows as a failed row; the others still show.
                let st = match stats.next().expect("one result per scope") {
                    Ok(st) => st,
                    Err(e) => {
                        QueueStats { state: QueueState::Error, closed_reason: e.to_string(), ..Default::default() }
                    }
                };
                rows.push(ScheduleQueueStatus {
                    sched_id: sched.id.clone(),
                    sched_date: sched.date().to_string(),
                    starts_at: sched.starts_at.clone(),
                    time_zone: sched.time_zone.clone(),
                    show_scope_id: scope.to_string(),
                    paused: st.paused(),
                    forecast: st.forecast(),
                    stats: st,
                });
            }
            out.push(ShowQueueStatus {
                show_id: show.id,
                name: show.name,
                venue: show.venue,
                status: show.status,
                queue_statuses: rows,
                sale_opens_at: show.sale_opens_at,
                pre_queue_opens_at: show.pre_queue_opens_at,
                theme: show.theme,
            });
        }
        Ok(out)
    }

    /// The design guide's `getShowQueueStatus`: every schedule of one show.
    /// One read command (`name key`) per key, in one pipeline; the answers in the keys' order.
    async fn per_key<T>(&self, name: &str, keyed: &[(T, String)]) -> Result<Vec<redis::Value>> {
        let r = self.redis();
        let cmds = keyed.iter().map(|(_, k)| redis::cmd(name).arg(k).clone()).collect();
        let keys: Vec<&str> = keyed.iter().map(|(_, k)| k.as_str()).collect();
        r.pipeline(cmds, &keys).await.map_err(|e| r.error(e))
    }

    pub async fn get_show_queue_status(&self, id: &ShowId) -> Result<ShowQueueStatus> {
        let show = self.get_show(id).await?;
        let mut v = self.status_of(vec![show]).await?;
        v.pop().ok_or_else(|| Error::ShowNotFound(id.to_string()))
    }

    /// Every show whose queues may hold buyers (OPEN, ON_GOING, POSTPONED), and any other whose outboxes
    /// still hold events (a closed show whose buyers are being told), with each schedule's figures.
    pub async fn all_open_queue_status(&self) -> Result<Vec<ShowQueueStatus>> {
        let (mut shows, others): (Vec<Show>, Vec<Show>) =
            self.list_shows().await?.into_iter().partition(|s| s.status.has_live_queues());
        // A closed or cancelled show stays in view while its outboxes still hold events (its buyers being
        // told); drafts and upcoming shows have no queue to look at (one round trip saved).
        let others: Vec<Show> =
            others.into_iter().filter(|s| matches!(s.status, ShowStatus::Closed | ShowStatus::Cancelled)).collect();
        let scopes: Vec<(usize, String)> = others
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.scopes().into_iter().map(move |(sc, _)| (i, keys::outbox(&sc))))
            .collect();
        if !scopes.is_empty() {
            let lens = self.per_key("XLEN", &scopes).await?;
            let busy: std::collections::BTreeSet<usize> = scopes
                .iter()
                .zip(lens)
                .filter(|(_, v)| matches!(v, redis::Value::Int(n) if *n > 0))
                .map(|((i, _), _)| *i)
                .collect();
            shows.extend(others.into_iter().enumerate().filter(|(i, _)| busy.contains(i)).map(|(_, s)| s));
        }
        self.status_of(shows).await
    }
}
