//! Which queues the background worker reads: the live shows' schedules and any outbox with events,
//! re-read from the catalog only when it changed.

use std::time::{Duration, Instant};

use redis::Value;

use super::delivery::{Notifier, all_ok};
use super::wire::parse_entries;
use crate::error::Result;
use crate::ids::Scope;
use crate::keys;

/// A full catalog refresh of the watch list at least this often, even with no change seen.
const WATCH_REFRESH: Duration = Duration::from_secs(30);
/// How often the catalog's last change is looked at.
const WATCH_CHECK: Duration = Duration::from_secs(1);

/// The scopes the background worker watches, refreshed when the catalog changes.
#[derive(Default)]
pub(super) struct Watch {
    audit_last: String,
    checked: Option<Instant>,
    refreshed: Option<Instant>,
    scopes: Vec<Scope>,
}

impl Notifier {
    /// Every schedule of every show: closed shows too, whose outboxes still hold the notices to send.
    pub async fn all_scopes(&self) -> Result<Vec<Scope>> {
        Ok(self.engine.list_shows().await?.iter().flat_map(|s| s.scopes().into_iter().map(|(sc, _)| sc)).collect())
    }

    /// The scopes worth reading: every schedule of a show whose queues may hold buyers, and any other
    /// schedule whose outbox still holds events. Re-read from the catalog only when it changed (its audit
    /// stream has a new entry) or every 30 s, so an idle worker's cost follows the live queues, not every
    /// show ever created.
    pub async fn watched_scopes(&self) -> Result<Vec<Scope>> {
        let r = self.engine.redis();
        let (check, stale) = {
            let w = self.watch.lock().expect("not poisoned");
            (
                w.checked.is_none_or(|t| t.elapsed() >= WATCH_CHECK),
                w.refreshed.is_none_or(|t| t.elapsed() >= WATCH_REFRESH),
            )
        };
        if !check && !stale {
            return Ok(self.watch.lock().expect("not poisoned").scopes.clone());
        }
        let last: Value =
            r.query(redis::cmd("XREVRANGE").arg(keys::AUDIT).arg("+").arg("-").arg("COUNT").arg(1)).await?;
        let last = parse_entries(keys::AUDIT, &last).pop().map(|e| e.id).unwrap_or_default();
        {
            let mut w = self.watch.lock().expect("not poisoned");
            w.checked = Some(Instant::now());
            if !stale && last == w.audit_last {
                return Ok(w.scopes.clone());
            }
        }
        let shows = self.engine.list_shows().await?;
        let mut scopes = Vec::new();
        let mut others = Vec::new();
        for show in &shows {
            for (sc, _) in show.scopes() {
                if show.status.has_live_queues() { scopes.push(sc) } else { others.push(sc) }
            }
        }
        if !others.is_empty() {
            let streams: Vec<String> = others.iter().map(keys::outbox).collect();
            let cmds = streams.iter().map(|s| redis::cmd("XLEN").arg(s).clone()).collect();
            let keys: Vec<&str> = streams.iter().map(String::as_str).collect();
            let lens = all_ok(r, r.pipeline(cmds, &keys).await)?;
            for (sc, len) in others.into_iter().zip(lens) {
                if matches!(len, Value::Int(n) if n > 0) {
                    scopes.push(sc);
                }
            }
        }
        let mut w = self.watch.lock().expect("not poisoned");
        w.audit_last = last;
        w.refreshed = Some(Instant::now());
        w.scopes = scopes.clone();
        Ok(scopes)
    }
}
