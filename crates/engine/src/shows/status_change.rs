//! `update_show_status`: a show's status change and its effect on every schedule's queue.

use super::*;

impl Engine {
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
        let event = |s: &Show| AuditEvent::Status { show: s.id.clone(), from, to, version: s.version };
        let next = self.commit(next, cur.version, actor, event).await?;

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
pub(crate) fn rejected(show: &ShowId, reason: String) -> Error {
    Error::ShowRejected { show: show.to_string(), reason }
}
