//! The wire format: outbox (and audit) entries as read from their streams, and the Ably messages each one
//! becomes. Payloads are built field by field, so nothing internal (a generation's secret, a drain key)
//! ever reaches Ably.

use std::collections::HashMap;

use redis::Value;
use seatwise_ably::{Message, stable_id_base};
use serde_json::{Value as Json, json};

use super::{ADMIN_CHANNEL, SCHEMA, queue_channel, ticket_channel};
use crate::audit::{AuditEvent, AuditRecord};
use crate::ids::Scope;

/// One outbox entry as read from its stream.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) stream: String,
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) ticket: String,
    pub(super) data: Json,
    /// Every field, for streams of another shape (the audit stream).
    pub(super) fields: HashMap<String, String>,
}

/// A message to publish for an entry.
pub(super) struct Out {
    pub(super) channel: String,
    pub(super) message: Message,
}

/// Maps an outbox entry to what Ably must carry. Internal fields (the generation's secret, the drain
/// key) never leave Redis.
pub(super) fn messages_for(scope: &Scope, e: &Entry) -> Vec<Out> {
    let at = e.data.get("at").cloned().unwrap_or(Json::Null);
    let scope_id = scope.to_string();
    let public = |name: &str, extra: Json| {
        let mut d = json!({"v": SCHEMA, "at": at, "seq": e.id, "showScopeId": scope_id});
        if let (Some(o), Json::Object(x)) = (d.as_object_mut(), extra) {
            o.extend(x);
        }
        Out { channel: queue_channel(scope), message: Message::new(name, d) }
    };
    let private = |name: &str, extra: Json| {
        let mut d = json!({"v": SCHEMA, "at": at, "seq": e.id, "showScopeId": scope_id, "ticket": e.ticket});
        if let (Some(o), Json::Object(x)) = (d.as_object_mut(), extra) {
            o.extend(x);
        }
        Out { channel: ticket_channel(scope, &e.ticket), message: Message::new(name, d) }
    };
    let field = |k: &str| e.data.get(k).cloned().unwrap_or(Json::Null);
    let mut out = match e.kind.as_str() {
        "queue_opened" => {
            let mut d = json!({"generation": field("gen")});
            // The opening of a pre-queue reveals its draw: anyone can recompute the order.
            if !field("draw_seed").is_null() {
                d["drawSeed"] = field("draw_seed");
                d["drawCount"] = field("draw_n");
                d["drawCommit"] = field("draw_commit");
            }
            vec![public("queue.opened", d)]
        }
        "prequeue_opened" => vec![public(
            "queue.prequeue_opened",
            json!({"generation": field("gen"), "drawCommit": field("draw_commit")}),
        )],
        "queue_paused" => vec![public("queue.paused", json!({}))],
        "queue_resumed" => vec![public("queue.resumed", json!({}))],
        "queue_closed" => {
            vec![public("queue.closed", json!({"reason": field("reason"), "generation": field("gen")}))]
        }
        "announcement" => vec![public("queue.announcement", json!({"message": field("message")}))],
        "your_turn" => vec![private(
            "ticket.your_turn",
            json!({"expiresAt": field("expires_at"), "sessionMs": field("session_ms")}),
        )],
        "session_expired" => vec![private("ticket.session_expired", json!({}))],
        "ticket_removed" => vec![private("ticket.removed", json!({}))],
        "turn_missed" => vec![private("ticket.turn_missed", json!({"graceUntil": field("grace_until")}))],
        "turn_lost" => vec![private("ticket.turn_lost", json!({}))],
        // An event this worker does not know (a newer engine wrote it): delivered on the public channel
        // under its own name rather than dropped, with the common fields only: its data is never
        // forwarded, since this worker cannot tell what in it is internal.
        other => vec![public(&format!("queue.{other}"), json!({}))],
    };
    let base = stable_id_base(&format!("{}/{}", e.stream, e.id));
    for (i, o) in out.iter_mut().enumerate() {
        o.message.id = Some(format!("{base}:{i}"));
    }
    out
}

fn bulk(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Parses `[[id, [field, value, ...]], ...]`.
pub(super) fn parse_entries(stream: &str, v: &Value) -> Vec<Entry> {
    let Value::Array(items) = v else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let Value::Array(pair) = item else { return None };
            let id = bulk(pair.first()?);
            let Some(Value::Array(kv)) = pair.get(1) else { return None };
            let mut f: HashMap<String, String> = HashMap::new();
            for c in kv.chunks(2) {
                if let [k, v] = c {
                    f.insert(bulk(k), bulk(v));
                }
            }
            Some(Entry {
                stream: stream.to_string(),
                id,
                kind: f.get("type").cloned().unwrap_or_default(),
                ticket: f.get("ticket").cloned().unwrap_or_default(),
                data: f.get("data").and_then(|d| serde_json::from_str(d).ok()).unwrap_or(Json::Null),
                fields: f,
            })
        })
        .collect()
}

/// XREADGROUP's answer: `[[stream, [entries]]]` (or nil).
pub(super) fn parse_read(v: &Value) -> Vec<Entry> {
    let Value::Array(streams) = v else { return Vec::new() };
    streams
        .iter()
        .flat_map(|s| match s {
            Value::Array(pair) if pair.len() == 2 => parse_entries(&bulk(&pair[0]), &pair[1]),
            _ => Vec::new(),
        })
        .collect()
}

pub(super) fn admin_messages(e: &Entry) -> Vec<Out> {
    // The audit stream is read through its one typed reader.
    let Some(rec) = AuditRecord::from_fields(&e.id, &e.fields) else { return Vec::new() };
    let (name, mut data) = match &rec.event {
        // Published from the entry written atomically with the change, so a crash before the queue
        // effects ran cannot lose it.
        AuditEvent::Status { show, from, to, version } => {
            ("show.status_changed", json!({"show": show, "version": version, "from": from, "to": to}))
        }
        AuditEvent::Result { show, from, to, version, success, message, results } => (
            "show.status_applied",
            json!({"show": show, "version": version, "from": from, "to": to, "success": success,
                   "message": message, "queueResults": results}),
        ),
        AuditEvent::Create { show, version, .. } | AuditEvent::Update { show, version, .. } => {
            ("show.updated", json!({"show": show, "version": version}))
        }
        AuditEvent::Action { .. } => return Vec::new(),
    };
    for (k, v) in [
        ("v", json!(SCHEMA)),
        ("seq", json!(e.id)),
        ("user", json!(rec.user)),
        ("host", json!(rec.host)),
        ("at", json!(rec.at)),
    ] {
        data[k] = v;
    }
    let id = format!("{}:0", stable_id_base(&format!("{}/{}", e.stream, e.id)));
    vec![Out { channel: ADMIN_CHANNEL.to_string(), message: Message::new(name, data).with_id(id) }]
}
