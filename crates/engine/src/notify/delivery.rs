//! One delivery pass: take (or keep) the leases of the streams to send, read each held stream's events in
//! order (this worker's unsent ones first, then new ones), publish them to Ably in batches, acknowledge
//! what Ably accepted, then give the closed queues' drains their bounded share.
//!
//! Why leases rather than sharing entries through the consumer group alone: with entries shared, two
//! workers (or one worker's retry next to its fresh reads) publish one channel's events out of order, and a
//! worker that seems idle has its entries claimed while it is still publishing them (published twice).
//! A lease gives each stream one sender at a time; it lives as long as the worker does (renewed in the
//! background, independently of how long a publish takes), so a dead worker's streams are taken over
//! within one lease TTL and a live one is never overtaken.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use redis::Value;
use seatwise_ably::{AblyRest, BatchSpec, Message};

use tokio_util::task::AbortOnDropHandle;

use super::drain::DrainMemory;
use super::lease::Leases;
use super::watch::Watch;
use super::wire::{Entry, Out, admin_messages, messages_for, parse_read};
use super::{CycleReport, DrainProgress, GROUP, LEASE_TTL};
use crate::error::{Error, Result};
use crate::ids::Scope;
use crate::keys;
use crate::queue::Engine;
use crate::redis_conn::Redis;

/// How a [`Notifier`] sends; the defaults are what the worker and the CLI use.
#[derive(Clone, Copy, Debug)]
pub struct NotifierConfig {
    /// Concurrent batch requests to Ably.
    pub concurrency: usize,
    /// Entries read per stream per cycle.
    pub batch: usize,
    /// How long a stream's lease lasts without renewal: a dead worker's streams are free after this.
    pub lease_ttl: Duration,
    /// Take only this worker's fair share of the streams (the background worker, next to others); when
    /// false every stream asked for is taken if free (the CLI telling the buyers of the queues it closed).
    pub share: bool,
    /// Rounds of `concurrency` requests (100 buyers each) each closed queue's drain gets per cycle, after
    /// the live events: a big drain never holds up "your turn" for other queues.
    pub drain_rounds: usize,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig { concurrency: 16, batch: 200, lease_ttl: LEASE_TTL, share: false, drain_rounds: 1 }
    }
}

/// Delivers outbox events to Ably. [`Notifier::cycle`] is one pass; [`Worker`](super::Worker) runs passes
/// until stopped.
pub struct Notifier {
    pub(super) engine: Engine,
    pub(super) ably: Arc<AblyRest>,
    pub(super) consumer: String,
    /// How it sends (concurrency, batch size, lease TTL, fair share, drain rounds).
    pub config: NotifierConfig,
    pub(super) leases: Arc<Mutex<Leases>>,
    /// The lease renewal task (stopped when the notifier is dropped or released).
    pub(super) renewer: Mutex<Option<AbortOnDropHandle<()>>>,
    pub(super) groups: Mutex<HashSet<String>>,
    /// What this process remembers of each closed queue's drain (drain key -> where it continues, what
    /// Ably accepted that Redis has not recorded yet).
    pub(super) drains: Mutex<HashMap<String, DrainMemory>>,
    pub(super) watch: Mutex<Watch>,
    pub(super) take_turn: std::sync::atomic::AtomicUsize,
    /// Events Ably accepted whose acknowledgement has not reached Redis yet (stream, id).
    pub(super) accepted: Mutex<HashSet<(String, String)>>,
}

impl Notifier {
    pub fn new(engine: Engine, ably: Arc<AblyRest>, consumer: &str) -> Notifier {
        Notifier {
            engine,
            ably,
            consumer: consumer.to_string(),
            config: NotifierConfig::default(),
            leases: Arc::new(Mutex::new(Leases::default())),
            renewer: Mutex::new(None),
            groups: Mutex::new(HashSet::new()),
            drains: Mutex::new(HashMap::new()),
            watch: Mutex::new(Watch::default()),
            take_turn: std::sync::atomic::AtomicUsize::new(0),
            accepted: Mutex::new(HashSet::new()),
        }
    }

    pub fn consumer(&self) -> &str {
        &self.consumer
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

    /// Reads each held stream's entries in stream order: this worker's unacknowledged ones first (failed
    /// sends, a drain in progress, what it took over), and new ones only when all of those fit in the batch,
    /// so nothing newer on a channel ever goes out before something older.
    async fn read(&self, streams: &[String]) -> Result<(Vec<Entry>, HashSet<String>)> {
        let r = self.engine.redis();
        let held: Vec<(String, bool)> = {
            let l = self.leases.lock().expect("not poisoned");
            streams.iter().filter_map(|s| l.held.get(s).map(|p| (s.clone(), *p))).collect()
        };
        let read_cmd = |s: &str, from: &str| {
            let mut c = redis::cmd("XREADGROUP");
            c.arg("GROUP")
                .arg(GROUP)
                .arg(&self.consumer)
                .arg("COUNT")
                .arg(self.config.batch)
                .arg("STREAMS")
                .arg(s)
                .arg(from);
            c
        };
        let mut out: Vec<Entry> = Vec::new();
        let mut full = HashSet::new();
        let with_pending: Vec<&String> = held.iter().filter(|(_, p)| *p).map(|(s, _)| s).collect();
        let mut own: HashMap<String, Vec<Entry>> = HashMap::new();
        if !with_pending.is_empty() {
            let cmds = with_pending.iter().map(|s| read_cmd(s, "0")).collect();
            let keys: Vec<&str> = with_pending.iter().map(|s| s.as_str()).collect();
            for (s, a) in with_pending.iter().zip(all_ok(r, r.pipeline(cmds, &keys).await)?) {
                let found: Vec<Entry> = parse_read(&a).into_iter().filter(|e| !e.fields.is_empty()).collect();
                if found.len() >= self.config.batch {
                    full.insert((*s).clone());
                }
                own.insert((*s).clone(), found);
            }
        }
        let fresh: Vec<&String> = held.iter().map(|(s, _)| s).filter(|s| !full.contains(*s)).collect();
        let mut new: HashMap<String, Vec<Entry>> = HashMap::new();
        if !fresh.is_empty() {
            let cmds = fresh.iter().map(|s| read_cmd(s, ">")).collect();
            let keys: Vec<&str> = fresh.iter().map(|s| s.as_str()).collect();
            for (s, a) in fresh.iter().zip(all_ok(r, r.pipeline(cmds, &keys).await)?) {
                let found = parse_read(&a);
                if found.len() >= self.config.batch {
                    full.insert((*s).clone());
                }
                new.insert((*s).clone(), found);
            }
        }
        for (s, _) in &held {
            out.extend(own.remove(s).unwrap_or_default());
            out.extend(new.remove(s).unwrap_or_default());
        }
        Ok((out, full))
    }

    /// Acknowledges events Ably accepted; if Redis cannot be told, they are remembered as accepted so the
    /// next pass acknowledges them without sending them again.
    async fn ack_accepted(&self, done: &[(String, String)]) -> Result<()> {
        match self.ack(done).await {
            Ok(()) => {
                let mut a = self.accepted.lock().expect("not poisoned");
                for k in done {
                    a.remove(k);
                }
                Ok(())
            }
            Err(e) => {
                self.accepted.lock().expect("not poisoned").extend(done.iter().cloned());
                Err(e)
            }
        }
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
        all_ok(r, r.pipeline(cmds, &keys).await)?;
        Ok(())
    }

    /// Publishes (channel, message) groups in batch requests of at most 100 channels, `concurrency` at a
    /// time; each channel's messages go in one request, in the order given. Returns the channels that
    /// failed and the errors.
    pub(super) async fn publish(&self, outs: Vec<Out>) -> (HashSet<String>, Vec<String>) {
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
            .buffer_unordered(self.config.concurrency.max(1))
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

    /// Passes until nothing is left to send on `scopes` (or every schedule of every show when None, read
    /// again each pass), or until sending has kept failing for `keep_trying` (Ably down): the CLI's
    /// `worker --once` and its telling of the buyers of the queues it just closed. Streams another worker
    /// holds are left to it (listed in the report). Hands every lease back before returning, so a running
    /// worker continues at once.
    pub async fn deliver_until_idle(
        &self,
        scopes: Option<&[Scope]>,
        keep_trying: Duration,
        progress: &(dyn Fn(DrainProgress) + Sync),
    ) -> Result<CycleReport> {
        let result = self.deliver_loop(scopes, keep_trying, progress).await;
        self.release().await;
        result
    }

    async fn deliver_loop(
        &self,
        scopes: Option<&[Scope]>,
        keep_trying: Duration,
        progress: &(dyn Fn(DrainProgress) + Sync),
    ) -> Result<CycleReport> {
        let mut total = CycleReport::default();
        let mut failing_since: Option<Instant> = None;
        let mut backoff = Duration::from_millis(200);
        loop {
            let r = match scopes {
                Some(s) => self.cycle(s, progress).await?,
                None => self.cycle(&self.all_scopes().await?, progress).await?,
            };
            total.read += r.read;
            total.delivered += r.delivered;
            total.failed += r.failed;
            total.to_tell = r.to_tell;
            total.held_elsewhere = r.held_elsewhere.clone();
            if r.failed == 0 && r.errors.is_empty() {
                failing_since = None;
                backoff = Duration::from_millis(200);
                if r.read == 0 && !r.pending {
                    return Ok(total);
                }
                continue;
            }
            total.errors = r.errors;
            let since = *failing_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= keep_trying {
                return Ok(total);
            }
            tokio::time::sleep(backoff.min(keep_trying.saturating_sub(since.elapsed()))).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    /// One pass over the given queues' outboxes (and the audit stream, for the admin channel).
    pub async fn cycle(&self, scopes: &[Scope], progress: &(dyn Fn(DrainProgress) + Sync)) -> Result<CycleReport> {
        let r = self.pass(scopes, progress).await;
        if r.is_err() {
            // Whatever a failed pass read stays this worker's: read its own entries again first.
            for p in self.leases.lock().expect("not poisoned").held.values_mut() {
                *p = true;
            }
            // And check the consumer groups again (a flushed or restored Redis may have lost them: NOGROUP).
            self.groups.lock().expect("not poisoned").clear();
        }
        r
    }

    async fn pass(&self, scopes: &[Scope], progress: &(dyn Fn(DrainProgress) + Sync)) -> Result<CycleReport> {
        let mut streams: Vec<String> = scopes.iter().map(keys::outbox).collect();
        streams.push(keys::AUDIT.to_string());
        self.ensure_groups(&streams).await?;
        self.ensure_renewer();
        self.take_leases(&streams).await?;
        let (entries, full) = self.read(&streams).await?;
        let by_stream: HashMap<String, Scope> = scopes.iter().map(|s| (keys::outbox(s), s.clone())).collect();
        let mut report = CycleReport { read: entries.len() as u64, ..Default::default() };
        let mut outs_of: Vec<(Entry, Vec<Out>)> = Vec::new();
        let mut drains = Vec::new();
        for e in entries {
            let outs = if e.stream == keys::AUDIT {
                admin_messages(&e)
            } else if let Some(scope) = by_stream.get(&e.stream) {
                if e.kind == "queue_drain" {
                    drains.push((scope.clone(), e));
                    continue;
                }
                messages_for(scope, &e)
            } else {
                continue;
            };
            outs_of.push((e, outs));
        }
        // Events Ably already accepted whose acknowledgement did not reach Redis (it was down) are only
        // acknowledged now, never sent again.
        let mut done = Vec::new();
        {
            let accepted = self.accepted.lock().expect("not poisoned");
            outs_of.retain(|(e, _)| {
                let key = (e.stream.clone(), e.id.clone());
                if accepted.contains(&key) {
                    done.push(key);
                    false
                } else {
                    true
                }
            });
        }
        // Live events first, every held stream's in order, in one round of batch requests.
        let all: Vec<Out> = outs_of
            .iter()
            .flat_map(|(_, o)| o.iter().map(|x| Out { channel: x.channel.clone(), message: x.message.clone() }))
            .collect();
        let (failed, errors) = self.publish(all).await;
        report.errors.extend(errors);
        let mut left: HashSet<String> = full;
        for (e, outs) in outs_of {
            if outs.iter().any(|o| failed.contains(&o.channel)) {
                report.failed += 1;
                left.insert(e.stream.clone());
            } else {
                report.delivered += 1;
                done.push((e.stream.clone(), e.id.clone()));
            }
        }
        self.ack_accepted(&done).await?;
        // Then each closed queue's drain gets its bounded share of this pass.
        for (scope, e) in drains {
            match self.drain_step(&scope, &e, progress).await {
                Ok(step) => {
                    report.failed += step.failed;
                    report.told += step.told;
                    report.to_tell += step.remaining;
                    if step.remaining == 0 {
                        report.delivered += 1;
                        self.ack_accepted(&[(e.stream.clone(), e.id.clone())]).await?;
                    } else {
                        left.insert(e.stream.clone());
                    }
                    if let Some(err) = step.error {
                        report.errors.push(err);
                    }
                }
                Err(err) => {
                    report.errors.push(err.to_string());
                    left.insert(e.stream.clone());
                }
            }
        }
        {
            let mut l = self.leases.lock().expect("not poisoned");
            for (s, pending) in l.held.iter_mut() {
                if streams.contains(s) {
                    *pending = left.contains(s);
                }
            }
            report.pending = !left.is_empty();
        }
        report.held_elsewhere = self.held_elsewhere(&streams);
        self.release_extras(streams.len()).await;
        Ok(report)
    }
}

/// A pipeline's answers, or the first error in it: a command refused inside a pipeline (a server still
/// loading its data after a restart, say) must not pass for an empty answer.
pub(super) fn all_ok(r: &Redis, answers: redis::RedisResult<Vec<Value>>) -> Result<Vec<Value>> {
    let answers = answers.map_err(|e| r.error(e))?;
    if let Some(Value::ServerError(e)) = answers.iter().find(|v| matches!(v, Value::ServerError(_))) {
        return Err(r.error(e.clone().into()));
    }
    Ok(answers)
}

pub(super) fn bulk_text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        _ => String::new(),
    }
}
