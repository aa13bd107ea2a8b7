//! One delivery pass: read the outboxes (new entries, this worker's retries, dead workers' pending ones)
//! and the audit stream, publish to Ably in batches, acknowledge what Ably accepted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use redis::Value;
use seatwise_ably::{AblyRest, BatchSpec, Message};

use super::wire::{Entry, Out, admin_messages, messages_for, parse_entries, parse_read};
use super::{CLAIM_IDLE, CycleReport, DrainProgress, GROUP};
use crate::error::{Error, Result};
use crate::ids::Scope;
use crate::keys;
use crate::queue::Engine;

/// Delivers outbox events to Ably. [`Notifier::cycle`] is one pass; [`Worker`] runs passes until stopped.
pub struct Notifier {
    pub(super) engine: Engine,
    pub(super) ably: Arc<AblyRest>,
    pub(super) consumer: String,
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

    /// Passes until nothing is left to send, a pass fails, or `max_passes` ran; over `scopes`, or every
    /// schedule of every show when None (read again each pass). The CLI's `worker --once` and the
    /// progress bar after a close.
    pub async fn deliver_until_idle(
        &self,
        scopes: Option<&[Scope]>,
        max_passes: usize,
        progress: &(dyn Fn(DrainProgress) + Sync),
    ) -> Result<CycleReport> {
        let mut total = CycleReport::default();
        for _ in 0..max_passes {
            let r = match scopes {
                Some(s) => self.cycle(s, progress).await?,
                None => self.cycle(&self.all_scopes().await?, progress).await?,
            };
            total.read += r.read;
            total.delivered += r.delivered;
            total.failed += r.failed;
            total.errors.extend(r.errors);
            if r.read == 0 || r.failed > 0 {
                break;
            }
        }
        Ok(total)
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
}
