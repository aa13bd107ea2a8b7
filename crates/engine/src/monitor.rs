//! Monitoring: per schedule the seed's `getShowQueueStatus` figures and more, for one show or for every
//! show whose queues may be live. Two round trips whatever the number of schedules: one read of the
//! catalog, one pipeline of `stats.lua` calls (O(1) work each).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{SchedId, Scope, ShowId};
use crate::keys;
use crate::queue::Engine;
use crate::scripts::{self, Call, Reply, SCRIPTS};
use crate::shows::Show;
use crate::status::ShowStatus;

/// One queue's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// `open`, `paused`, `closed`, or `none` (never opened).
    pub state: String,
    pub generation: u64,
    pub queue_size: u64,
    pub active_sessions: u64,
    pub capacity: u64,
    pub avg_service_ms: u64,
    /// queueSize × avgServiceMs, as the seed computes it.
    pub estimated_wait_time: u64,
    pub admitted_total: u64,
    pub abandoned_total: u64,
    pub completed_total: u64,
    pub expired_total: u64,
    pub left_total: u64,
    pub removed_total: u64,
    /// Events in the outbox not yet delivered to Ably.
    pub pending_events: u64,
    pub session_ms: u64,
    pub abandon_ms: u64,
    pub max_seats: u64,
    /// Tickets issued in this generation.
    pub tickets_issued: u64,
    pub opened_at_ms: u64,
    pub closed_reason: String,
}

impl QueueStats {
    fn from_reply(r: &Reply) -> QueueStats {
        if r.code() == scripts::E_NO_QUEUE {
            return QueueStats { state: "none".into(), pending_events: r.uint(1), ..Default::default() };
        }
        let queue_size = r.uint(3);
        let avg = r.uint(6);
        QueueStats {
            state: r.str(1),
            generation: r.uint(2),
            queue_size,
            active_sessions: r.uint(4),
            capacity: r.uint(5),
            avg_service_ms: avg,
            estimated_wait_time: queue_size * avg,
            admitted_total: r.uint(7),
            abandoned_total: r.uint(8),
            completed_total: r.uint(9),
            expired_total: r.uint(10),
            left_total: r.uint(11),
            removed_total: r.uint(12),
            pending_events: r.uint(13),
            session_ms: r.uint(14),
            abandon_ms: r.uint(15),
            tickets_issued: r.uint(16),
            opened_at_ms: r.uint(17),
            closed_reason: r.str(18),
            max_seats: r.uint(19),
        }
    }

    pub fn paused(&self) -> bool {
        self.state == "paused"
    }
}

/// One schedule's row of the monitor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShowQueueStatus {
    pub show_id: ShowId,
    pub name: String,
    pub venue: String,
    pub status: ShowStatus,
    pub queue_statuses: Vec<ScheduleQueueStatus>,
}

impl Engine {
    /// Figures for many queues in one pipeline (one round trip).
    pub async fn queue_stats(&self, scopes: &[Scope]) -> Result<Vec<Result<QueueStats>>> {
        let calls: Vec<Call> = scopes
            .iter()
            .map(|s| Call { script: &SCRIPTS.stats, keys: keys::queue_keys(s).to_vec(), args: vec![] })
            .collect();
        Ok(self.redis().eval_many(&calls).await?.into_iter().map(|r| r.map(|r| QueueStats::from_reply(&r))).collect())
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
                    Err(e) => QueueStats { state: "error".into(), closed_reason: e.to_string(), ..Default::default() },
                };
                rows.push(ScheduleQueueStatus {
                    sched_id: sched.id.clone(),
                    sched_date: sched.date().to_string(),
                    starts_at: sched.starts_at.clone(),
                    time_zone: sched.time_zone.clone(),
                    show_scope_id: scope.to_string(),
                    paused: st.paused(),
                    stats: st,
                });
            }
            out.push(ShowQueueStatus {
                show_id: show.id,
                name: show.name,
                venue: show.venue,
                status: show.status,
                queue_statuses: rows,
            });
        }
        Ok(out)
    }

    /// The seed's `getShowQueueStatus`: every schedule of one show.
    pub async fn get_show_queue_status(&self, id: &ShowId) -> Result<ShowQueueStatus> {
        let show = self.get_show(id).await?;
        let mut v = self.status_of(vec![show]).await?;
        v.pop().ok_or_else(|| Error::ShowNotFound(id.to_string()))
    }

    /// Every show whose queues may hold buyers (OPEN, ON_GOING, POSTPONED), with each schedule's figures.
    pub async fn all_open_queue_status(&self) -> Result<Vec<ShowQueueStatus>> {
        let shows: Vec<Show> = self.list_shows().await?.into_iter().filter(|s| s.status.has_live_queues()).collect();
        self.status_of(shows).await
    }
}
