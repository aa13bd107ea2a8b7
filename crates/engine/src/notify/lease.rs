//! The leases of the streams this worker sends: one sender per stream at a time, renewed in the background
//! while the worker lives, taken as the worker's fair share of the streams (see `delivery.rs` for why).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_util::task::AbortOnDropHandle;

use redis::Value;

use super::delivery::{Notifier, all_ok, bulk_text};
use super::{GROUP, now_ms};
use crate::error::Result;
use crate::keys;
use crate::redis_conn::Redis;
use crate::scripts::{Call, SCRIPTS};

/// The streams this worker holds the lease of.
#[derive(Default)]
pub(super) struct Leases {
    /// stream -> whether this worker has unacknowledged entries in it (read them again first).
    pub(super) held: BTreeMap<String, bool>,
    pub(super) last_take: Option<Instant>,
    /// Live workers (heartbeats), for the fair share.
    pub(super) alive: u64,
}

impl Notifier {
    pub(super) fn lease_call(&self, stream: &str, mode: &str) -> Call<'static> {
        Call {
            script: &SCRIPTS.lease,
            keys: vec![keys::lease(stream)],
            args: vec![self.consumer.clone(), self.config.lease_ttl.as_millis().to_string(), mode.to_string()],
        }
    }

    /// Starts the background renewal of this worker's leases (and its heartbeat), once.
    pub(super) fn ensure_renewer(&self) {
        let mut slot = self.renewer.lock().expect("not poisoned");
        if slot.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let (redis, leases, consumer, ttl, share) = (
            self.engine.redis().clone(),
            self.leases.clone(),
            self.consumer.clone(),
            self.config.lease_ttl,
            self.config.share,
        );
        *slot = Some(AbortOnDropHandle::new(tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let held: Vec<String> = leases.lock().expect("not poisoned").held.keys().cloned().collect();
                let calls: Vec<Call> = held
                    .iter()
                    .map(|s| Call {
                        script: &SCRIPTS.lease,
                        keys: vec![keys::lease(s)],
                        args: vec![consumer.clone(), ttl.as_millis().to_string(), "renew".into()],
                    })
                    .collect();
                if let Ok(answers) = redis.eval_many(&calls).await {
                    let mut l = leases.lock().expect("not poisoned");
                    for (s, a) in held.iter().zip(answers) {
                        if matches!(&a, Ok(r) if !crate::replies::lease_held(r)) {
                            l.held.remove(s);
                        }
                    }
                }
                if share && let Ok(n) = heartbeat(&redis, &consumer, ttl).await {
                    leases.lock().expect("not poisoned").alive = n;
                }
            }
        })));
    }

    /// Takes the free leases among `streams` (this worker's share of them when sharing), at most every
    /// fifth of a TTL; a stream taken over gets the previous holder's unacknowledged entries.
    pub(super) async fn take_leases(&self, streams: &[String]) -> Result<()> {
        let r = self.engine.redis();
        let (wanted, room) = {
            let mut l = self.leases.lock().expect("not poisoned");
            let due = l.last_take.is_none_or(|t| t.elapsed() >= self.config.lease_ttl / 5);
            if !due {
                return Ok(());
            }
            l.last_take = Some(Instant::now());
            let wanted: Vec<String> = streams.iter().filter(|s| !l.held.contains_key(*s)).cloned().collect();
            (wanted, usize::MAX)
        };
        let room = if self.config.share {
            let alive = heartbeat(r, &self.consumer, self.config.lease_ttl).await?.max(1);
            let mut l = self.leases.lock().expect("not poisoned");
            l.alive = alive;
            let fair = streams.len().div_ceil(alive as usize);
            fair.saturating_sub(l.held.len())
        } else {
            room
        };
        // Try a different part of the free streams each time, so a worker below its share finds the ones
        // the others gave back.
        let mut wanted = wanted;
        if !wanted.is_empty() {
            let turn = self.take_turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let k = turn % wanted.len();
            wanted.rotate_left(k);
        }
        wanted.truncate(room);
        if wanted.is_empty() {
            return Ok(());
        }
        let calls: Vec<Call> = wanted.iter().map(|s| self.lease_call(s, "take")).collect();
        let answers = r.eval_many(&calls).await?;
        let mut taken = Vec::new();
        for (s, a) in wanted.iter().zip(answers) {
            if matches!(&a, Ok(reply) if crate::replies::lease_held(reply)) {
                taken.push(s.clone());
            }
        }
        for s in &taken {
            // Whatever the previous holder read and did not acknowledge becomes this worker's, in order.
            // (It is gone: its lease ran out or it handed the stream over.)
            let mut cursor = "0-0".to_string();
            for _ in 0..1000 {
                let mut c = redis::cmd("XAUTOCLAIM");
                c.arg(s).arg(GROUP).arg(&self.consumer).arg(0).arg(&cursor).arg("COUNT").arg(1000).arg("JUSTID");
                let v: Value = r.query(&c).await?;
                cursor = match &v {
                    Value::Array(parts) if !parts.is_empty() => bulk_text(&parts[0]),
                    _ => "0-0".into(),
                };
                if cursor == "0-0" {
                    break;
                }
            }
            self.leases.lock().expect("not poisoned").held.insert(s.clone(), true);
        }
        Ok(())
    }

    /// Gives back every lease this worker holds (when it stops), so another worker continues at once.
    pub async fn release(&self) {
        let held: Vec<String> =
            std::mem::take(&mut self.leases.lock().expect("not poisoned").held).into_keys().collect();
        // Dropping the renewal task's handle stops it.
        self.renewer.lock().expect("not poisoned").take();
        let calls: Vec<Call> = held.iter().map(|s| self.lease_call(s, "release")).collect();
        let r = self.engine.redis();
        let _ = r.eval_many(&calls).await;
        if self.config.share {
            let _ = r.query::<Value>(redis::cmd("ZREM").arg(keys::WORKERS).arg(&self.consumer)).await;
        }
    }

    /// Gives back leases beyond this worker's fair share (streams with nothing of its own pending).
    pub(super) async fn release_extras(&self, streams: usize) {
        if !self.config.share {
            return;
        }
        let extras: Vec<String> = {
            let mut l = self.leases.lock().expect("not poisoned");
            let fair = streams.div_ceil(l.alive.max(1) as usize);
            let over = l.held.len().saturating_sub(fair);
            let free: Vec<String> = l.held.iter().filter(|(_, p)| !**p).map(|(s, _)| s.clone()).take(over).collect();
            for s in &free {
                l.held.remove(s);
            }
            free
        };
        let calls: Vec<Call> = extras.iter().map(|s| self.lease_call(s, "release")).collect();
        let _ = self.engine.redis().eval_many(&calls).await;
    }

    /// Streams among `streams` whose lease this worker does not hold.
    pub(super) fn held_elsewhere(&self, streams: &[String]) -> Vec<String> {
        let l = self.leases.lock().expect("not poisoned");
        streams.iter().filter(|s| !l.held.contains_key(*s) && s.as_str() != keys::AUDIT).cloned().collect()
    }

    /// How many streams this worker sends (for its report).
    pub fn streams_held(&self) -> usize {
        self.leases.lock().expect("not poisoned").held.len()
    }
}

/// Records this worker as alive for one more TTL and returns how many workers are alive.
pub(super) async fn heartbeat(r: &Redis, consumer: &str, ttl: Duration) -> Result<u64> {
    let now = now_ms();
    let cmds = vec![
        redis::cmd("ZADD").arg(keys::WORKERS).arg(now + ttl.as_millis() as u64).arg(consumer).clone(),
        redis::cmd("ZREMRANGEBYSCORE").arg(keys::WORKERS).arg("-inf").arg(now).clone(),
        redis::cmd("ZCARD").arg(keys::WORKERS).clone(),
    ];
    let v = all_ok(r, r.pipeline(cmds, &[keys::WORKERS; 3]).await)?;
    Ok(match v.last() {
        Some(Value::Int(n)) => *n as u64,
        _ => 1,
    })
}
