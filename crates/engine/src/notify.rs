//! Notifications: the Ably channels and events (docs/PROTOCOL.md), the outbox [`Worker`] that delivers
//! them with nothing lost, the drain that tells every buyer of a closed queue, and buyer token requests.
//!
//! Delivery: each queue's outbox is a Redis Stream read through the consumer group `seatwise-workers`, so
//! several workers on several machines share the work. An event is acknowledged (XACK, then XDEL) only
//! after Ably accepted it; a worker that dies leaves its events pending and another claims them after
//! 30 s. Message ids are derived from the event's stream id, so a retried or re-claimed event gets the
//! same id and Ably drops the repeat (within its 2-minute idempotency window).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use redis::Value;
use seatwise_ably::{AblyRest, BatchSpec, Capability, Message, TokenParams, TokenRequest, stable_id_base};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::error::{Error, Result};
use crate::ids::{BuyerId, Scope, Ticket};
use crate::keys;
use crate::queue::Engine;
use crate::scripts::{self, SCRIPTS};

/// The consumer group every worker joins.
pub const GROUP: &str = "seatwise-workers";
/// Schema version carried by every payload.
pub const SCHEMA: u32 = 1;
/// The admin channel: show status changes, for the Seatwise web app to sync its own database.
pub const ADMIN_CHANNEL: &str = "seatwise:admin";
/// A pending event idle this long belongs to a dead worker and is claimed by another.
pub const CLAIM_IDLE: Duration = Duration::from_secs(30);
/// How often a running worker does every queue's housekeeping.
const TICK: Duration = Duration::from_secs(5);
/// Longest buyer token.
pub const MAX_TOKEN_TTL_MS: u64 = 2 * 3600 * 1000;
pub const DEFAULT_TOKEN_TTL_MS: u64 = 3600 * 1000;

/// The public channel of a schedule's queue.
pub fn queue_channel(scope: &Scope) -> String {
    format!("seatwise:queue:{}:{}", scope.show, scope.sched)
}

/// The private channel of one buyer's ticket.
pub fn ticket_channel(scope: &Scope, ticket: &str) -> String {
    format!("seatwise:ticket:{}:{}:{}", scope.show, scope.sched, ticket)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// One outbox entry as read from its stream.
#[derive(Clone, Debug)]
struct Entry {
    stream: String,
    id: String,
    kind: String,
    ticket: String,
    data: Json,
    /// Every field, for streams of another shape (the audit stream).
    fields: HashMap<String, String>,
}

/// A message to publish for an entry.
struct Out {
    channel: String,
    message: Message,
}

/// Maps an outbox entry to what Ably must carry. Internal fields (the generation's secret, the drain
/// key) never leave Redis.
fn messages_for(scope: &Scope, e: &Entry) -> Vec<Out> {
    let at = e.data.get("at").cloned().unwrap_or(Json::Null);
    let scope_id = scope.to_string();
    let public = |name: &str, extra: Json| {
        let mut d = json!({"v": SCHEMA, "at": at, "showScopeId": scope_id});
        if let (Some(o), Json::Object(x)) = (d.as_object_mut(), extra) {
            o.extend(x);
        }
        Out { channel: queue_channel(scope), message: Message::new(name, d) }
    };
    let private = |name: &str, extra: Json| {
        let mut d = json!({"v": SCHEMA, "at": at, "showScopeId": scope_id, "ticket": e.ticket});
        if let (Some(o), Json::Object(x)) = (d.as_object_mut(), extra) {
            o.extend(x);
        }
        Out { channel: ticket_channel(scope, &e.ticket), message: Message::new(name, d) }
    };
    let field = |k: &str| e.data.get(k).cloned().unwrap_or(Json::Null);
    let mut out = match e.kind.as_str() {
        "queue_opened" => vec![public("queue.opened", json!({"generation": field("gen")}))],
        "queue_paused" => vec![public("queue.paused", json!({}))],
        "queue_resumed" => vec![public("queue.resumed", json!({}))],
        "queue_closed" => vec![public("queue.closed", json!({"reason": field("reason")}))],
        "announcement" => vec![public("queue.announcement", json!({"message": field("message")}))],
        "your_turn" => vec![private(
            "ticket.your_turn",
            json!({"expiresAt": field("expires_at"), "sessionMs": field("session_ms")}),
        )],
        "session_expired" => vec![private("ticket.session_expired", json!({}))],
        "ticket_removed" => vec![private("ticket.removed", json!({}))],
        // An event this worker does not know (a newer engine wrote it): delivered on the public channel
        // under its own name rather than dropped.
        other => vec![public(&format!("queue.{other}"), e.data.clone())],
    };
    let base = stable_id_base(&format!("{}/{}", e.stream, e.id));
    for (i, o) in out.iter_mut().enumerate() {
        o.message.id = Some(format!("{base}:{i}"));
    }
    out
}

/// Progress of telling a closed queue's buyers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainProgress {
    pub show_scope_id: String,
    pub told: u64,
    pub total: u64,
}

/// The worker's health and progress, for the console and the CLI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerReport {
    /// `starting`, `running`, `ably_not_configured`, `ably_unreachable`, `redis_unreachable`, `stopped`.
    pub state: String,
    pub consumer: String,
    pub cycles: u64,
    /// Events delivered (a closed queue's notices count one each).
    pub delivered: u64,
    /// Deliveries Ably refused or that could not reach it (they are retried).
    pub failed: u64,
    pub last_error: Option<String>,
    pub last_cycle_at_ms: u64,
    pub drains: Vec<DrainProgress>,
}

/// What one cycle did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub read: u64,
    pub delivered: u64,
    pub failed: u64,
    pub errors: Vec<String>,
}

/// Delivers outbox events to Ably. [`Notifier::cycle`] is one pass; [`Worker`] runs passes until stopped.
pub struct Notifier {
    engine: Engine,
    ably: Arc<AblyRest>,
    consumer: String,
    /// Concurrent batch requests to Ably.
    pub concurrency: usize,
    /// Entries read per stream per cycle.
    pub batch: usize,
    /// Pending entries idle this long are taken over from the worker that read them (it died).
    pub claim_idle: Duration,
    groups: Mutex<HashSet<String>>,
    /// Entries of this process that failed, retried next cycle (stream, id).
    retry: Mutex<Vec<(String, String)>>,
    last_claim: Mutex<Option<std::time::Instant>>,
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
fn parse_entries(stream: &str, v: &Value) -> Vec<Entry> {
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
fn parse_read(v: &Value) -> Vec<Entry> {
    let Value::Array(streams) = v else { return Vec::new() };
    streams
        .iter()
        .flat_map(|s| match s {
            Value::Array(pair) if pair.len() == 2 => parse_entries(&bulk(&pair[0]), &pair[1]),
            _ => Vec::new(),
        })
        .collect()
}

fn set_bits(bytes: &[u8], first_bit: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        if *b == 0 {
            continue;
        }
        for k in 0..8 {
            if b & (0x80 >> k) != 0 {
                out.push(first_bit + i as u64 * 8 + k);
            }
        }
    }
    out
}

impl Notifier {
    pub fn new(engine: Engine, ably: Arc<AblyRest>, consumer: &str) -> Notifier {
        Notifier {
            engine,
            ably,
            consumer: consumer.to_string(),
            concurrency: 16,
            batch: 200,
            claim_idle: CLAIM_IDLE,
            groups: Mutex::new(HashSet::new()),
            retry: Mutex::new(Vec::new()),
            last_claim: Mutex::new(None),
        }
    }

    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Every schedule of every show: closed shows too, whose outboxes still hold the notices to send.
    pub async fn all_scopes(&self) -> Result<Vec<Scope>> {
        Ok(self.engine.list_shows().await?.iter().flat_map(|s| s.scopes().into_iter().map(|(sc, _)| sc)).collect())
    }

    async fn ensure_groups(&self, streams: &[String]) -> Result<()> {
        let missing: Vec<String> = {
            let g = self.groups.lock().expect("not poisoned");
            streams.iter().filter(|s| !g.contains(*s)).cloned().collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let cmds = missing
            .iter()
            .map(|s| {
                // The outbox group starts at the beginning (nothing written before a worker existed is
                // lost); the audit group at the end (the admin channel carries changes from now on).
                let start = if s == keys::AUDIT { "$" } else { "0" };
                let mut c = redis::cmd("XGROUP");
                c.arg("CREATE").arg(s).arg(GROUP).arg(start).arg("MKSTREAM");
                c
            })
            .collect();
        let keys: Vec<&str> = missing.iter().map(String::as_str).collect();
        let answers = self.engine.redis().pipeline(cmds, &keys).await.map_err(|e| self.engine.redis().error(e))?;
        for a in &answers {
            if let Value::ServerError(e) = a
                && e.code() != "BUSYGROUP"
            {
                return Err(Error::Redis(format!("cannot create the consumer group: {}", e.details().unwrap_or(""))));
            }
        }
        self.groups.lock().expect("not poisoned").extend(missing);
        Ok(())
    }

    /// Reads new entries (and this process's failed ones, and dead workers' pending ones).
    async fn read(&self, streams: &[String]) -> Result<Vec<Entry>> {
        let r = self.engine.redis();
        let mut cmds = Vec::new();
        let mut keys: Vec<&str> = Vec::new();
        for s in streams {
            let mut c = redis::cmd("XREADGROUP");
            c.arg("GROUP").arg(GROUP).arg(&self.consumer).arg("COUNT").arg(self.batch).arg("STREAMS").arg(s).arg(">");
            cmds.push(c);
            keys.push(s);
        }
        let claim = {
            let mut last = self.last_claim.lock().expect("not poisoned");
            let due = last.is_none_or(|t| t.elapsed() > self.claim_idle / 3);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        if claim {
            for s in streams {
                let mut c = redis::cmd("XAUTOCLAIM");
                c.arg(s)
                    .arg(GROUP)
                    .arg(&self.consumer)
                    .arg(self.claim_idle.as_millis() as u64)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(self.batch);
                cmds.push(c);
                keys.push(s);
            }
        }
        let retry: Vec<(String, String)> = std::mem::take(&mut *self.retry.lock().expect("not poisoned"));
        for (s, id) in &retry {
            let mut c = redis::cmd("XRANGE");
            c.arg(s).arg(id).arg(id);
            cmds.push(c);
            keys.push(s);
        }
        let answers = r.pipeline(cmds, &keys).await.map_err(|e| r.error(e))?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (i, a) in answers.iter().enumerate() {
            let found = if i < streams.len() {
                parse_read(a)
            } else if claim && i < 2 * streams.len() {
                // XAUTOCLAIM: [next-cursor, [entries], [deleted ids]]
                match a {
                    Value::Array(parts) if parts.len() >= 2 => parse_entries(keys[i], &parts[1]),
                    _ => Vec::new(),
                }
            } else {
                parse_entries(keys[i], a)
            };
            for e in found {
                if seen.insert((e.stream.clone(), e.id.clone())) {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    async fn ack(&self, done: &[(String, String)]) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let mut by_stream: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (s, id) in done {
            by_stream.entry(s).or_default().push(id);
        }
        let mut cmds = Vec::new();
        let mut keys = Vec::new();
        for (s, ids) in &by_stream {
            let mut c = redis::cmd("XACK");
            c.arg(*s).arg(GROUP).arg(ids);
            cmds.push(c);
            keys.push(*s);
            if *s != keys::AUDIT {
                // Delivered outbox events leave the stream, so its length is what is still to send.
                let mut d = redis::cmd("XDEL");
                d.arg(*s).arg(ids);
                cmds.push(d);
                keys.push(*s);
            }
        }
        let r = self.engine.redis();
        r.pipeline(cmds, &keys).await.map_err(|e| r.error(e))?;
        Ok(())
    }

    /// Publishes (channel, message) groups in batch requests of at most 100 channels, `concurrency` at a
    /// time. Returns the channels that failed.
    async fn publish(&self, outs: Vec<Out>) -> (HashSet<String>, Vec<String>) {
        let mut per_channel: BTreeMap<String, Vec<Message>> = BTreeMap::new();
        for o in outs {
            per_channel.entry(o.channel).or_default().push(o.message);
        }
        let specs: Vec<BatchSpec> =
            per_channel.into_iter().map(|(c, m)| BatchSpec { channels: vec![c], messages: m }).collect();
        let requests: Vec<Vec<BatchSpec>> = specs.chunks(100).map(|c| c.to_vec()).collect();
        let ably = self.ably.clone();
        let results: Vec<(Vec<BatchSpec>, seatwise_ably::Result<Vec<seatwise_ably::ChannelResult>>)> =
            futures::stream::iter(requests.into_iter().map(|req| {
                let ably = ably.clone();
                async move {
                    let r = ably.batch_publish(&req).await;
                    (req, r)
                }
            }))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        let mut failed = HashSet::new();
        let mut errors = Vec::new();
        for (req, r) in results {
            match r {
                Ok(per) => {
                    let answered: HashSet<&str> = per.iter().map(|c| c.channel.as_str()).collect();
                    for c in &per {
                        if let Err(e) = &c.outcome {
                            failed.insert(c.channel.clone());
                            errors.push(format!("{}: {e}", c.channel));
                        }
                    }
                    for spec in &req {
                        for ch in &spec.channels {
                            if !answered.contains(ch.as_str()) {
                                failed.insert(ch.clone());
                            }
                        }
                    }
                }
                Err(e) => {
                    errors.push(e.to_string());
                    for spec in req {
                        failed.extend(spec.channels);
                    }
                }
            }
        }
        (failed, errors)
    }

    /// One pass over the given queues' outboxes (and the audit stream, for the admin channel).
    pub async fn cycle(&self, scopes: &[Scope], progress: &(dyn Fn(DrainProgress) + Sync)) -> Result<CycleReport> {
        let mut streams: Vec<String> = scopes.iter().map(keys::outbox).collect();
        streams.push(keys::AUDIT.to_string());
        self.ensure_groups(&streams).await?;
        let entries = self.read(&streams).await?;
        let by_stream: HashMap<String, Scope> = scopes.iter().map(|s| (keys::outbox(s), s.clone())).collect();
        let mut report = CycleReport { read: entries.len() as u64, ..Default::default() };
        let mut outs_of: Vec<(Entry, Vec<Out>)> = Vec::new();
        for e in entries {
            let outs = if e.stream == keys::AUDIT {
                admin_messages(&e)
            } else if let Some(scope) = by_stream.get(&e.stream) {
                messages_for(scope, &e)
            } else {
                continue;
            };
            outs_of.push((e, outs));
        }
        let all: Vec<Out> = outs_of
            .iter()
            .flat_map(|(_, o)| o.iter().map(|x| Out { channel: x.channel.clone(), message: x.message.clone() }))
            .collect();
        let (failed, errors) = self.publish(all).await;
        report.errors.extend(errors);
        let mut done = Vec::new();
        let mut drains = Vec::new();
        for (e, outs) in outs_of {
            if outs.iter().any(|o| failed.contains(&o.channel)) {
                report.failed += 1;
                self.retry.lock().expect("not poisoned").push((e.stream.clone(), e.id.clone()));
            } else if e.kind == "queue_closed" && e.stream != keys::AUDIT {
                drains.push(e);
            } else {
                report.delivered += 1;
                done.push((e.stream.clone(), e.id.clone()));
            }
        }
        self.ack(&done).await?;
        // A closed queue's public event is out; now each of its buyers is told, then the event is acked.
        for e in drains {
            let scope = by_stream[&e.stream].clone();
            match self.drain(&scope, &e, progress).await {
                Ok(true) => {
                    report.delivered += 1;
                    self.ack(&[(e.stream.clone(), e.id.clone())]).await?;
                }
                Ok(false) => {
                    report.failed += 1;
                    self.retry.lock().expect("not poisoned").push((e.stream.clone(), e.id.clone()));
                }
                Err(err) => {
                    report.errors.push(err.to_string());
                    self.retry.lock().expect("not poisoned").push((e.stream.clone(), e.id.clone()));
                }
            }
        }
        Ok(report)
    }

    /// Tells every buyer recorded in a closed generation's drain key, 100 channels per request, clearing
    /// each buyer's bit once Ably accepted the notice, so an interrupted drain resumes where it stopped.
    /// Returns true when everyone has been told (the drain key is then deleted).
    async fn drain(&self, scope: &Scope, e: &Entry, progress: &(dyn Fn(DrainProgress) + Sync)) -> Result<bool> {
        let r = self.engine.redis();
        let generation = e.data.get("gen").and_then(Json::as_u64).unwrap_or(0);
        let secret = e.data.get("secret").and_then(Json::as_str).unwrap_or("").to_string();
        let reason = e.data.get("reason").cloned().unwrap_or(Json::Null);
        let at = e.data.get("at").cloned().unwrap_or(Json::Null);
        // The key is rebuilt from validated parts, never taken from the event's text.
        let drain = keys::closing(scope, generation);
        let total: u64 = r.query(redis::cmd("BITCOUNT").arg(&drain)).await?;
        let mut told = 0u64;
        let mut all_ok = true;
        let chunk_bytes: u64 = 12_500; // 100 000 buyers per read
        let slice_len = 100 * self.concurrency.max(1);
        let mut offset = 0u64;
        let mut pending: Vec<u64> = Vec::new();
        loop {
            let bytes: Vec<u8> =
                r.query(redis::cmd("GETRANGE").arg(&drain).arg(offset).arg(offset + chunk_bytes - 1)).await?;
            let end = bytes.is_empty();
            pending.extend(set_bits(&bytes, offset * 8));
            offset += chunk_bytes;
            // Full slices go out as soon as they are complete (so no request is wasted on a chunk
            // boundary); the rest at the end.
            while pending.len() >= slice_len || (end && !pending.is_empty()) {
                let n = pending.len().min(slice_len);
                let slice: Vec<u64> = pending.drain(..n).collect();
                let ok = self.tell_slice(scope, e, &drain, generation, &secret, &reason, &at, &slice).await?;
                all_ok &= ok == slice.len() as u64;
                told += ok;
                progress(DrainProgress { show_scope_id: scope.to_string(), told, total });
            }
            if end {
                break;
            }
        }
        if all_ok {
            r.query::<Value>(redis::cmd("DEL").arg(&drain)).await?;
        }
        Ok(all_ok)
    }
}

/// The admin channel's share of the audit stream: a status change once its effects ran (`result`), and
/// show creations and edits, so the web app can keep its own database in step.
impl Notifier {
    /// Publishes one slice of closed-queue notices and clears the bits of the buyers Ably accepted;
    /// also keeps the event claimed by this worker. Returns how many were told.
    #[allow(clippy::too_many_arguments)]
    async fn tell_slice(
        &self,
        scope: &Scope,
        e: &Entry,
        drain: &str,
        generation: u64,
        secret: &str,
        reason: &Json,
        at: &Json,
        seqs: &[u64],
    ) -> Result<u64> {
        let r = self.engine.redis();
        let mut outs = Vec::with_capacity(seqs.len());
        let mut channel_seq: HashMap<String, u64> = HashMap::with_capacity(seqs.len());
        for &seq in seqs {
            let tag = &sha1_smol::Sha1::from(format!("{secret}:{generation}:{seq}")).digest().to_string()[..16];
            let ticket = format!("{generation}.{seq}.{tag}");
            let channel = ticket_channel(scope, &ticket);
            let base = stable_id_base(&format!("{drain}/{seq}"));
            let msg = Message::new(
                "ticket.queue_closed",
                json!({"v": SCHEMA, "at": at, "showScopeId": scope.to_string(), "ticket": ticket, "reason": reason}),
            )
            .with_id(format!("{base}:0"));
            channel_seq.insert(channel.clone(), seq);
            outs.push(Out { channel, message: msg });
        }
        let (failed, _) = self.publish(outs).await;
        let mut clear = redis::cmd("BITFIELD");
        clear.arg(drain);
        let mut n = 0;
        for (ch, seq) in &channel_seq {
            if !failed.contains(ch) {
                clear.arg("SET").arg("u1").arg(*seq).arg(0);
                n += 1;
            }
        }
        if n > 0 {
            r.query::<Value>(&clear).await?;
        }
        let mut claim = redis::cmd("XCLAIM");
        claim.arg(&e.stream).arg(GROUP).arg(&self.consumer).arg(0).arg(&e.id).arg("JUSTID");
        r.query::<Value>(&claim).await?;
        Ok(n)
    }
}

fn admin_messages(e: &Entry) -> Vec<Out> {
    let f = |k: &str| e.fields.get(k).cloned().unwrap_or_default();
    let name = match f("kind").as_str() {
        "result" => "show.status_changed",
        "create" | "update" => "show.updated",
        _ => return Vec::new(),
    };
    let mut data = json!({"v": SCHEMA, "show": f("show"), "version": f("version").parse::<u64>().unwrap_or(0),
                          "user": f("user"), "host": f("host"), "at": f("at")});
    if name == "show.status_changed" {
        data["from"] = json!(f("from"));
        data["to"] = json!(f("to"));
        data["message"] = json!(f("message"));
        data["queueResults"] = serde_json::from_str(&f("results")).unwrap_or(Json::Null);
    }
    let id = format!("{}:0", stable_id_base(&format!("{}/{}", e.stream, e.id)));
    vec![Out { channel: ADMIN_CHANNEL.to_string(), message: Message::new(name, data).with_id(id) }]
}

impl Engine {
    /// Signs an Ably token request for a buyer: only for their own ticket, waiting or admitted in a live
    /// queue; capability subscribe-only on the queue's public channel and the ticket's private channel;
    /// clientId = the buyer; ttl at most 2 hours (default 1 hour).
    #[allow(clippy::too_many_arguments)]
    pub async fn buyer_token_request(
        &self,
        ably: &AblyRest,
        scope: &Scope,
        ticket: &Ticket,
        buyer: &BuyerId,
        ttl_ms: Option<u64>,
        timestamp: Option<u64>,
        nonce: Option<String>,
    ) -> Result<TokenRequest> {
        let ttl = ttl_ms.unwrap_or(DEFAULT_TOKEN_TTL_MS);
        if !(1000..=MAX_TOKEN_TTL_MS).contains(&ttl) {
            return Err(Error::invalid(
                "token ttl",
                &ttl.to_string(),
                "a buyer token lives 1000 ms to 2 hours (7200000 ms)",
            ));
        }
        if let Some(n) = &nonce
            && (n.len() < 16 || n.chars().any(|c| !c.is_ascii_alphanumeric()))
        {
            return Err(Error::invalid("nonce", n, "a nonce is at least 16 letters and digits, never reused"));
        }
        let keys = keys::queue_keys(scope);
        let args = vec![ticket.generation.to_string(), ticket.seq.to_string(), ticket.tag.clone(), buyer.to_string()];
        let r = self.redis().eval(&SCRIPTS.ticket_check, &keys[..keys::JOIN_KEYS], &args).await?;
        match r.code() {
            scripts::E_NOT_OWNER => {
                return Err(Error::NotOwner { ticket: ticket.to_string(), buyer: buyer.to_string() });
            }
            scripts::E_NOT_LIVE => {
                let state = match r.int(1) {
                    3 => "completed",
                    4 => "expired",
                    5 => "abandoned",
                    6 => "left",
                    7 => "removed",
                    _ => "not live",
                };
                return Err(Error::TicketNotLive { ticket: ticket.to_string(), state: state.into() });
            }
            _ => {
                r.into_result(&scope.to_string(), &ticket.to_string())?;
            }
        }
        let capability = Capability::new()
            .allow(&queue_channel(scope), &["subscribe"])
            .allow(&ticket_channel(scope, &ticket.to_string()), &["subscribe"]);
        Ok(ably.create_token_request(TokenParams {
            ttl_ms: Some(ttl),
            capability: Some(capability),
            client_id: Some(buyer.to_string()),
            timestamp,
            nonce,
        }))
    }
}

/// A worker running cycles in the background until stopped, with a health and progress report.
pub struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    report: Arc<Mutex<WorkerReport>>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts delivering. With no Ably client the worker only reports that Ably is not configured:
    /// events wait in the outboxes (the monitor counts them) until a worker with Ably runs.
    pub fn start(engine: Engine, ably: Option<Arc<AblyRest>>, consumer: &str, idle: Duration) -> Worker {
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let report = Arc::new(Mutex::new(WorkerReport {
            state: "starting".into(),
            consumer: consumer.to_string(),
            ..Default::default()
        }));
        let rep = report.clone();
        let consumer = consumer.to_string();
        let task = tokio::spawn(async move {
            let Some(ably) = ably else {
                rep.lock().expect("not poisoned").state = "ably_not_configured".into();
                let _ = stop_rx.changed().await;
                rep.lock().expect("not poisoned").state = "stopped".into();
                return;
            };
            let n = Notifier::new(engine.clone(), ably, &consumer);
            let mut backoff = idle;
            let mut last_tick: Option<std::time::Instant> = None;
            loop {
                let r2 = rep.clone();
                let progress = move |p: DrainProgress| {
                    let mut r = r2.lock().expect("not poisoned");
                    r.drains.retain(|d| d.show_scope_id != p.show_scope_id);
                    if p.told < p.total {
                        r.drains.push(p);
                    }
                };
                let result = match n.all_scopes().await {
                    Ok(scopes) => {
                        // Every few seconds, the queues' bounded housekeeping (the stats script): sessions
                        // that ended while nobody called are closed and their buyers told, free sessions
                        // are filled, even when no buyer and no console is calling.
                        if last_tick.is_none_or(|t| t.elapsed() >= TICK) {
                            last_tick = Some(std::time::Instant::now());
                            let _ = engine.queue_stats(&scopes).await;
                        }
                        n.cycle(&scopes, &progress).await
                    }
                    Err(e) => Err(e),
                };
                let wait = {
                    let mut r = rep.lock().expect("not poisoned");
                    r.cycles += 1;
                    r.last_cycle_at_ms = now_ms();
                    match result {
                        Ok(c) => {
                            r.delivered += c.delivered;
                            r.failed += c.failed;
                            if c.failed > 0 || !c.errors.is_empty() {
                                r.state = "ably_unreachable".into();
                                r.last_error = c.errors.first().cloned();
                                backoff = (backoff * 2).min(Duration::from_secs(5));
                            } else {
                                r.state = "running".into();
                                backoff = idle;
                            }
                            if c.read > 0 && c.failed == 0 { Duration::ZERO } else { backoff }
                        }
                        Err(e) => {
                            r.state = "redis_unreachable".into();
                            r.last_error = Some(e.to_string());
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                            backoff
                        }
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop_rx.changed() => break,
                }
            }
            rep.lock().expect("not poisoned").state = "stopped".into();
        });
        Worker { stop, report, task }
    }

    pub fn report(&self) -> WorkerReport {
        self.report.lock().expect("not poisoned").clone()
    }

    /// Stops after the cycle in progress (nothing is lost: what was not acknowledged stays pending).
    pub async fn stop(mut self) -> WorkerReport {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
        self.report()
    }
}
