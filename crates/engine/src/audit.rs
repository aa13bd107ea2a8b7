//! The audit log: one Redis stream (`seatwise:{catalog}:audit`) of typed [`AuditEvent`]s, each with who
//! made it and when. [`AuditRecord::fields`] is the one writer (show-cas.lua appends those fields in the
//! same step as the show change; staff actions are appended here) and [`AuditRecord::from_fields`] the one
//! reader: the CLI, the console and the notifier's admin channel all read entries through this type.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ids::ShowId;
use crate::keys;
use crate::queue::{Engine, QueueEffect};
use crate::status::ShowStatus;

/// The audit stream keeps about this many entries (XADD MAXLEN ~).
pub const AUDIT_MAX_LEN: u64 = 100_000;

/// Who made a change: the OS account and the machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub host: String,
}

impl Actor {
    pub fn new(user: &str, host: &str) -> Actor {
        let clean = |s: &str| -> String {
            let t: String = s.chars().filter(|c| !c.is_control()).take(64).collect();
            if t.trim().is_empty() { "unknown".into() } else { t }
        };
        Actor { user: clean(user), host: clean(host) }
    }

    /// The user and host this process runs as.
    pub fn current() -> Actor {
        // The environment first (what the person set), else the operating system's account name (a
        // desktop session started without $USER, a service): never "unknown" for a real account.
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| whoami::fallible::username().ok())
            .unwrap_or_default();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|h| h.trim().to_string())
            .or_else(|_| std::env::var("HOSTNAME"))
            .or_else(|_| std::env::var("COMPUTERNAME"))
            .unwrap_or_default();
        Actor::new(&user, &host)
    }

    /// `user@host`, as stored in a show's `updatedBy`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
}

/// One schedule's outcome of a status change (the design guide's `{showScopeId, message}`), with the typed effect
/// (or the error's code) kept as data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueResult {
    pub show_scope_id: String,
    pub message: String,
    pub ok: bool,
    /// What the status did to the queue (absent when it failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<QueueEffect>,
    /// Why it failed (absent when it worked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorCode>,
}

/// What happened. Serialized with its `kind` beside the other fields (`{"kind": "status", "show": ...}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A show was created (at version 1).
    Create { show: ShowId, version: u64, status: ShowStatus },
    /// A show's name, venue or schedules were changed.
    Update { show: ShowId, version: u64, status: ShowStatus },
    /// A show's status was changed (written in the same step as the change).
    Status { show: ShowId, from: ShowStatus, to: ShowStatus, version: u64 },
    /// The effects of that status change on every schedule's queue.
    Result {
        show: ShowId,
        from: ShowStatus,
        to: ShowStatus,
        version: u64,
        success: bool,
        message: String,
        results: Vec<QueueResult>,
    },
    /// A staff action on one queue ([`crate::actions::StaffAction`]).
    Action { show: ShowId, scope: String, action: String, detail: String },
}

/// One entry of the audit stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The stream entry id (empty before it is written).
    pub id: String,
    pub user: String,
    pub host: String,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    #[serde(flatten)]
    pub event: AuditEvent,
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl AuditRecord {
    pub fn new(actor: &Actor, at: &str, event: AuditEvent) -> AuditRecord {
        AuditRecord { id: String::new(), user: actor.user.clone(), host: actor.host.clone(), at: at.into(), event }
    }

    pub fn now(actor: &Actor, event: AuditEvent) -> AuditRecord {
        AuditRecord::new(actor, &now_text(), event)
    }

    pub fn show(&self) -> &ShowId {
        match &self.event {
            AuditEvent::Create { show, .. }
            | AuditEvent::Update { show, .. }
            | AuditEvent::Status { show, .. }
            | AuditEvent::Result { show, .. }
            | AuditEvent::Action { show, .. } => show,
        }
    }

    /// The stream fields (docs/PROTOCOL.md, "Audit stream"): the one writer.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut f: Vec<(&'static str, String)> = Vec::with_capacity(12);
        let status = |f: &mut Vec<(&'static str, String)>, from: ShowStatus, to: ShowStatus| {
            f.push(("from", from.to_string()));
            f.push(("to", to.to_string()));
        };
        match &self.event {
            AuditEvent::Create { show, version, status: s } | AuditEvent::Update { show, version, status: s } => {
                f.push((
                    "kind",
                    if matches!(self.event, AuditEvent::Create { .. }) { "create" } else { "update" }.into(),
                ));
                f.push(("show", show.to_string()));
                status(&mut f, *s, *s);
                f.push(("version", version.to_string()));
            }
            AuditEvent::Status { show, from, to, version } => {
                f.push(("kind", "status".into()));
                f.push(("show", show.to_string()));
                status(&mut f, *from, *to);
                f.push(("version", version.to_string()));
            }
            AuditEvent::Result { show, from, to, version, success, message, results } => {
                f.push(("kind", "result".into()));
                f.push(("show", show.to_string()));
                status(&mut f, *from, *to);
                f.push(("version", version.to_string()));
                f.push(("success", if *success { "1" } else { "0" }.into()));
                f.push(("message", message.clone()));
                f.push(("results", serde_json::to_string(results).expect("results serialise")));
            }
            AuditEvent::Action { show, scope, action, detail } => {
                f.push(("kind", "action".into()));
                f.push(("show", show.to_string()));
                f.push(("scope", scope.clone()));
                f.push(("action", action.clone()));
                f.push(("detail", detail.clone()));
            }
        }
        f.push(("user", self.user.clone()));
        f.push(("host", self.host.clone()));
        f.push(("at", self.at.clone()));
        f
    }

    /// Reads an entry written by [`AuditRecord::fields`]: the one reader. None for an entry of a kind this
    /// version does not know (a newer engine wrote it) or one that is damaged.
    pub fn from_fields(id: &str, f: &HashMap<String, String>) -> Option<AuditRecord> {
        let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
        let show = ShowId::new(get("show")).ok()?;
        let version = get("version").parse::<u64>().unwrap_or(0);
        let st = |k: &str| ShowStatus::parse(get(k)).ok();
        let event = match get("kind") {
            "create" => AuditEvent::Create { show, version, status: st("to")? },
            "update" => AuditEvent::Update { show, version, status: st("to")? },
            "status" => AuditEvent::Status { show, from: st("from")?, to: st("to")?, version },
            "result" => {
                let results: Vec<QueueResult> = serde_json::from_str(get("results")).unwrap_or_default();
                AuditEvent::Result {
                    show,
                    from: st("from")?,
                    to: st("to")?,
                    version,
                    // Entries written before `success` was stored: every schedule went well.
                    success: f.get("success").map_or_else(|| results.iter().all(|r| r.ok), |s| s == "1"),
                    message: get("message").to_string(),
                    results,
                }
            }
            "action" => AuditEvent::Action {
                show,
                scope: get("scope").to_string(),
                action: get("action").to_string(),
                detail: get("detail").to_string(),
            },
            _ => return None,
        };
        Some(AuditRecord {
            id: id.to_string(),
            user: get("user").to_string(),
            host: get("host").to_string(),
            at: get("at").to_string(),
            event,
        })
    }

    /// One line for people: what happened and its details (the CLI's audit listing).
    pub fn summary(&self) -> String {
        match &self.event {
            AuditEvent::Create { show, version, status } => format!("created {show} as {status} (v{version})"),
            AuditEvent::Update { show, version, .. } => format!("edited {show} (v{version})"),
            AuditEvent::Status { show, from, to, version } => format!("{show} {from} → {to} (v{version})"),
            AuditEvent::Result { version, message, .. } => format!("result v{version} {message}"),
            AuditEvent::Action { scope, action, detail, .. } => format!("{action} {scope} {detail}"),
        }
    }
}

impl Engine {
    /// Appends one record to the audit stream (staff actions; show changes are written by show-cas.lua
    /// with the change itself).
    pub(crate) async fn write_audit(&self, record: &AuditRecord) -> Result<()> {
        let mut xadd = redis::cmd("XADD");
        xadd.arg(keys::AUDIT).arg("MAXLEN").arg("~").arg(AUDIT_MAX_LEN).arg("*");
        for (k, v) in record.fields() {
            xadd.arg(k).arg(v);
        }
        self.redis().query::<String>(&xadd).await?;
        Ok(())
    }

    /// The newest `limit` audit records, newest first, optionally of one show only.
    pub async fn audit_log(&self, limit: usize, show: Option<&ShowId>) -> Result<Vec<AuditRecord>> {
        // A show filter reads further back, since other shows' entries are interleaved.
        let count = if show.is_some() { limit.saturating_mul(20).min(AUDIT_MAX_LEN as usize) } else { limit };
        let raw: Vec<(String, Vec<(String, String)>)> = self
            .redis()
            .query(redis::cmd("XREVRANGE").arg(keys::AUDIT).arg("+").arg("-").arg("COUNT").arg(count))
            .await?;
        Ok(raw
            .into_iter()
            .filter_map(|(id, kv)| AuditRecord::from_fields(&id, &kv.into_iter().collect()))
            .filter(|r| show.is_none_or(|s| r.show() == s))
            .take(limit)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_reads_back_as_written() {
        let actor = Actor::new("ann", "box-office");
        let show = ShowId::new("hamlet").unwrap();
        let events = vec![
            AuditEvent::Create { show: show.clone(), version: 1, status: ShowStatus::Draft },
            AuditEvent::Update { show: show.clone(), version: 2, status: ShowStatus::Upcoming },
            AuditEvent::Status { show: show.clone(), from: ShowStatus::Draft, to: ShowStatus::Open, version: 3 },
            AuditEvent::Result {
                show: show.clone(),
                from: ShowStatus::Draft,
                to: ShowStatus::Open,
                version: 3,
                success: false,
                message: "1 of 2 failed".into(),
                results: vec![QueueResult {
                    show_scope_id: "hamlet:d1".into(),
                    message: "queue opened (generation 1)".into(),
                    ok: true,
                    effect: Some(QueueEffect::Opened { generation: 1 }),
                    error: None,
                }],
            },
            AuditEvent::Action { show, scope: "hamlet:d1".into(), action: "admit".into(), detail: "5".into() },
        ];
        for e in events {
            let mut r = AuditRecord::new(&actor, "2026-11-30T19:00:00.000Z", e);
            r.id = "1-0".into();
            let fields: HashMap<String, String> = r.fields().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            assert_eq!(AuditRecord::from_fields("1-0", &fields), Some(r));
        }
    }
}
