//! Queue history: every running worker (and the console's embedded one) samples each live queue into a
//! capped stream every 10 s (`lua/history.lua`: one entry per 10-second slot whoever calls, ~48 h kept),
//! so a manager who opens the console at 20:05 sees the on-sale since 19:00, and every console charts the
//! same data.

use serde::Serialize;

use crate::error::Result;
use crate::ids::Scope;
use crate::keys;
use crate::queue::Engine;
use crate::scripts::{Call, SCRIPTS};

/// How often a queue is sampled (the slot of one history entry).
pub const SAMPLE_MS: i64 = 10_000;

/// One sample of a queue's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPoint {
    pub at_ms: i64,
    pub queue_size: u64,
    pub active_sessions: u64,
    pub capacity: u64,
    /// Admissions counted in the minute before the sample (at the capacity of the time).
    pub admissions_per_min: u64,
    pub abandoned_total: u64,
    /// The p50 wait of the last buyer in line when sampled (ms).
    pub est_wait_ms: u64,
    /// Seats neither sold nor held; None when the queue is not seat-aware.
    pub seats_left: Option<i64>,
    pub paused: bool,
}

impl HistoryPoint {
    fn parse(id: &str, fields: &[String]) -> Option<HistoryPoint> {
        let at_ms = id.split('-').next()?.parse().ok()?;
        let mut p = HistoryPoint { at_ms, ..Default::default() };
        for kv in fields.chunks(2) {
            let [k, v] = kv else { continue };
            let n = || v.parse::<u64>().unwrap_or(0);
            match k.as_str() {
                "q" => p.queue_size = n(),
                "a" => p.active_sessions = n(),
                "c" => p.capacity = n(),
                "m" => p.admissions_per_min = n(),
                "b" => p.abandoned_total = n(),
                "w" => p.est_wait_ms = n(),
                "s" => p.seats_left = v.parse::<i64>().ok().filter(|s| *s >= 0),
                "p" => p.paused = v == "1",
                _ => {} // a field a newer version added
            }
        }
        Some(p)
    }
}

impl Engine {
    /// Samples every queue of `scopes` that is live, in one pipeline; returns how many samples this call
    /// wrote (0 for a queue some other worker or console already sampled in this 10-second slot).
    pub async fn sample_history(&self, scopes: &[Scope]) -> Result<usize> {
        let calls: Vec<Call> = scopes
            .iter()
            .map(|s| {
                let mut ks = keys::queue_keys(s).to_vec();
                ks.push(keys::history(s));
                Call { script: &SCRIPTS.history, keys: ks, args: vec![] }
            })
            .collect();
        let written = self.redis().eval_many(&calls).await?;
        Ok(written.iter().filter(|r| r.as_ref().is_ok_and(crate::replies::sample_written)).count())
    }

    /// A queue's samples from `since_ms` on, oldest first (at most 48 h of them).
    pub async fn queue_history(&self, scope: &Scope, since_ms: i64) -> Result<Vec<HistoryPoint>> {
        let entries: Vec<(String, Vec<String>)> = self
            .redis()
            .query(
                redis::cmd("XRANGE").arg(keys::history(scope)).arg(since_ms.max(0)).arg("+").arg("COUNT").arg(20_000),
            )
            .await?;
        Ok(entries.iter().filter_map(|(id, f)| HistoryPoint::parse(id, f)).collect())
    }

    /// The samples of many queues from `since_ms` on, read concurrently (one round trip's worth of waiting
    /// on a multiplexed connection, not one per queue); a queue whose read failed has none.
    pub async fn queue_histories(&self, scopes: &[Scope], since_ms: i64) -> Vec<Vec<HistoryPoint>> {
        futures::future::join_all(
            scopes.iter().map(|s| async move { self.queue_history(s, since_ms).await.unwrap_or_default() }),
        )
        .await
    }
}
