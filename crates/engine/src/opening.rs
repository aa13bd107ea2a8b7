//! Scheduled openings: a show's `preQueueOpensAt` opens every schedule's pre-queue, its `saleOpensAt`
//! sets the show OPEN (which draws the pre-queue's order). Any number of workers run this every second;
//! each opening happens once: the status change is a compare-and-set on the show's version (the losers
//! see a conflict and do nothing), and a pre-queue that is already open is left alone. Both are audited
//! with the actor `scheduler`.

use crate::audit::{Actor, AuditEvent, AuditRecord};
use crate::error::{Error, Result};
use crate::queue::{Engine, QueueEffect};
use crate::shows::Show;
use crate::status::ShowStatus;

/// The actor of scheduled changes in the audit log.
pub fn scheduler() -> Actor {
    Actor::new("scheduler", &Actor::current().host)
}

fn millis(t: &Option<String>) -> Option<i64> {
    t.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|d| d.timestamp_millis())
}

/// What a scheduler pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opened {
    pub pre_queues: Vec<String>,
    pub sales: Vec<String>,
}

impl Engine {
    /// Opens what is due at `now_ms`: pre-queues of UPCOMING shows, then sales of UPCOMING shows.
    pub async fn run_openings(&self, now_ms: i64) -> Result<Opened> {
        let mut done = Opened::default();
        let actor = scheduler();
        for show in self.list_shows().await? {
            if show.status != ShowStatus::Upcoming {
                continue;
            }
            if millis(&show.sale_opens_at).is_some_and(|t| t <= now_ms) {
                match self.update_show_status(&show.id, ShowStatus::Open, &actor, Some(show.version)).await {
                    Ok(_) => done.sales.push(show.id.to_string()),
                    Err(Error::Conflict { .. }) => {} // another worker (or staff) got there first
                    Err(e) => return Err(e),
                }
            } else if millis(&show.pre_queue_opens_at).is_some_and(|t| t <= now_ms)
                && self.open_pre_queues(&show, &actor).await?
            {
                done.pre_queues.push(show.id.to_string());
            }
        }
        Ok(done)
    }

    /// Opens every schedule's pre-queue of `show`; true when this call opened any (audited once).
    async fn open_pre_queues(&self, show: &Show, actor: &Actor) -> Result<bool> {
        let mut opened = false;
        for (scope, schedule) in show.scopes() {
            if let QueueEffect::PreQueueOpened { .. } =
                self.open_prequeue(&scope, &schedule.settings(), Some(show.version)).await?
            {
                opened = true;
                let event = AuditEvent::Action {
                    show: show.id.clone(),
                    scope: scope.to_string(),
                    action: "prequeue".into(),
                    detail: "pre-queue opened; the order is drawn at the sale's opening".into(),
                };
                self.write_audit(&AuditRecord::now(actor, event)).await?;
            }
        }
        Ok(opened)
    }
}

/// The next scheduled opening of an UPCOMING show, for countdowns: what opens and when (ms since the epoch).
pub fn next_opening(show: &Show, now_ms: i64) -> Option<(&'static str, i64)> {
    if show.status != ShowStatus::Upcoming {
        return None;
    }
    let pre = millis(&show.pre_queue_opens_at).filter(|t| *t > now_ms);
    let sale = millis(&show.sale_opens_at)?;
    Some(match pre {
        Some(t) if t < sale => ("pre-queue opens", t),
        _ => ("sale opens", sale),
    })
}

/// "in 1 h 05 min", "in 42 s", "now": how long until `at_ms`.
pub fn countdown(at_ms: i64, now_ms: i64) -> String {
    let s = (at_ms - now_ms).max(0) / 1000;
    match s {
        0 => "now".into(),
        1..=59 => format!("in {s} s"),
        60..=3599 => format!("in {} min {:02} s", s / 60, s % 60),
        _ if s < 86_400 => format!("in {} h {:02} min", s / 3600, s / 60 % 60),
        _ => format!("in {} d {} h", s / 86_400, s / 3600 % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::countdown;

    #[test]
    fn countdowns_read_like_a_clock() {
        assert_eq!(countdown(0, 5), "now");
        assert_eq!(countdown(42_000, 0), "in 42 s");
        assert_eq!(countdown(3_905_000, 0), "in 1 h 05 min");
        assert_eq!(countdown(125_000, 0), "in 2 min 05 s");
        assert_eq!(countdown(90_000_000, 0), "in 1 d 1 h");
    }
}
