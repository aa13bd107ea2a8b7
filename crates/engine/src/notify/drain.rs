//! Telling every buyer of a closed queue. close.lua leaves the generation's buyers in a drain bitmap and a
//! `queue_drain` entry in the outbox; the worker holding the outbox's lease tells them a bounded number at
//! a time (each pass, after the live events), 100 channels per request, clearing each buyer's bit once Ably
//! accepted the notice. So a drain shares the worker fairly, stops with it, and resumes where it stopped
//! (in another worker too: the bitmap is the progress). The entry is acknowledged when the bitmap is empty.

use redis::Value;
use seatwise_ably::{Message, stable_id_base};
use serde_json::{Value as Json, json};

use super::delivery::Notifier;
use super::wire::{Entry, Out};
use super::{DrainProgress, SCHEMA, ticket_channel};
use crate::error::Result;
use crate::ids::Scope;
use crate::keys;

/// What one drain step did.
/// The queue's epochs ("<epoch>:<first seq>,…", lua/lib/tickets.lua `guard_epoch`) in order.
fn epochs(text: &str) -> Vec<(u64, u64)> {
    text.split(',')
        .filter_map(|p| p.split_once(':'))
        .filter_map(|(e, f)| Some((e.parse().ok()?, f.parse().ok()?)))
        .collect()
}

/// What one process remembers of a closed queue's drain between steps.
#[derive(Default)]
pub(super) struct DrainMemory {
    /// The byte of the bitmap the next step starts at.
    pub cursor: u64,
    /// Buyers Ably accepted whose bits could not be cleared yet (a Redis outage): cleared first, never told
    /// twice.
    pub owed: Vec<u64>,
}

pub(super) struct DrainStep {
    /// Buyers still to be told after this step.
    pub remaining: u64,
    /// Notices Ably accepted in this step.
    pub told: u64,
    /// Notices Ably refused or that could not reach it (their bits stay set: retried).
    pub failed: u64,
    pub error: Option<String>,
}

/// Bytes of the bitmap read per GETRANGE (100 000 buyers).
const CHUNK_BYTES: u64 = 12_500;

impl Notifier {
    /// Tells up to `drain_rounds × concurrency × 100` of a closed generation's buyers, from where this
    /// worker's last step stopped, and reports how many remain (0 once everyone was told: the drain key is
    /// then deleted).
    pub(super) async fn drain_step(
        &self,
        scope: &Scope,
        e: &Entry,
        progress: &(dyn Fn(DrainProgress) + Sync),
    ) -> Result<DrainStep> {
        let r = self.engine.redis();
        let generation = e.data.get("gen").and_then(Json::as_u64).unwrap_or(0);
        let total = e.data.get("buyers").and_then(Json::as_u64).unwrap_or(0);
        // The key is rebuilt from validated parts, never taken from the event's text.
        let drain = keys::closing(scope, generation);
        // Buyers Ably accepted whose bits a Redis outage kept from being cleared: cleared first, not told
        // again.
        let owed = self.drain_memory(&drain, |m| std::mem::take(&mut m.owed));
        if let Err(e) = self.clear_bits(&drain, &owed).await {
            self.drain_memory(&drain, |m| m.owed.extend(owed));
            return Err(e);
        }
        let budget = 100 * self.config.concurrency.max(1) * self.config.drain_rounds.max(1);
        let start = self.drain_memory(&drain, |m| m.cursor);
        let mut offset = start;
        let mut seqs: Vec<u64> = Vec::new();
        let mut at_end = false;
        while seqs.len() < budget {
            let bytes: Vec<u8> =
                r.query(redis::cmd("GETRANGE").arg(&drain).arg(offset).arg(offset + CHUNK_BYTES - 1)).await?;
            if bytes.is_empty() {
                at_end = true;
                break;
            }
            seqs.extend(set_bits(&bytes, offset * 8));
            offset += CHUNK_BYTES;
        }
        seqs.truncate(budget);
        // The next step starts at the byte of the last buyer taken (its own bit is cleared by then, or set
        // again only if Ably refused it); at the end of the bitmap it starts over, for the refused ones.
        let next = if at_end && seqs.len() < budget { 0 } else { seqs.last().map_or(0, |s| s / 8) };
        self.drain_memory(&drain, |m| m.cursor = next);
        let mut failed = 0;
        let mut told_now = 0;
        let mut error = None;
        let slice_len = 100 * self.config.concurrency.max(1);
        for slice in seqs.chunks(slice_len) {
            let (told, err) = self.tell_slice(scope, e, &drain, generation, slice).await?;
            failed += slice.len() as u64 - told;
            told_now += told;
            if err.is_some() {
                error = err;
            }
        }
        let remaining: u64 = r.query(redis::cmd("BITCOUNT").arg(&drain)).await?;
        progress(DrainProgress {
            show_scope_id: scope.to_string(),
            told: total.saturating_sub(remaining),
            total: total.max(remaining),
        });
        if remaining == 0 {
            r.query::<Value>(redis::cmd("DEL").arg(&drain)).await?;
            self.drains.lock().expect("not poisoned").remove(&drain);
        }
        Ok(DrainStep { remaining, told: told_now, failed, error })
    }

    /// Reads or changes what this process remembers of a drain.
    fn drain_memory<T>(&self, drain: &str, f: impl FnOnce(&mut DrainMemory) -> T) -> T {
        f(self.drains.lock().expect("not poisoned").entry(drain.to_string()).or_default())
    }

    /// Publishes one slice of closed-queue notices and clears the bits of the buyers Ably accepted.
    /// Returns how many were told, and the first error.
    async fn tell_slice(
        &self,
        scope: &Scope,
        e: &Entry,
        drain: &str,
        generation: u64,
        seqs: &[u64],
    ) -> Result<(u64, Option<String>)> {
        let secret = e.data.get("secret").and_then(Json::as_str).unwrap_or("");
        let epochs = epochs(e.data.get("epochs").and_then(Json::as_str).unwrap_or(""));
        let reason = e.data.get("reason").cloned().unwrap_or(Json::Null);
        let at = e.data.get("at").cloned().unwrap_or(Json::Null);
        let mut outs = Vec::with_capacity(seqs.len());
        let mut channels = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            // As lua/lib/tickets.lua's ticket_tag: from the first failover on, the epoch is part of the tag.
            let epoch = epochs.iter().filter(|(_, from)| seq >= *from).map(|(e, _)| *e).next_back().unwrap_or(0);
            let keyed = if epoch > 0 {
                format!("{secret}:{generation}:{seq}:{epoch}")
            } else {
                format!("{secret}:{generation}:{seq}")
            };
            let tag = &sha1_smol::Sha1::from(keyed).digest().to_string()[..16];
            let ticket = format!("{generation}.{seq}.{tag}");
            let channel = ticket_channel(scope, &ticket);
            let base = stable_id_base(&format!("{drain}/{seq}"));
            let msg = Message::new(
                "ticket.queue_closed",
                json!({"v": SCHEMA, "at": at, "seq": e.id, "showScopeId": scope.to_string(), "ticket": ticket,
                       "generation": generation, "reason": reason}),
            )
            .with_id(format!("{base}:0"));
            channels.push((channel.clone(), seq));
            outs.push(Out { channel, message: msg });
        }
        let (failed, errors) = self.publish(outs).await;
        let told: Vec<u64> = channels.iter().filter(|(ch, _)| !failed.contains(ch)).map(|(_, seq)| *seq).collect();
        if let Err(e) = self.clear_bits(drain, &told).await {
            self.drain_memory(drain, |m| m.owed.extend(told));
            return Err(e);
        }
        Ok((told.len() as u64, errors.into_iter().next()))
    }

    /// Clears the bits of buyers who were told.
    async fn clear_bits(&self, drain: &str, seqs: &[u64]) -> Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        let mut clear = redis::cmd("BITFIELD");
        clear.arg(drain);
        for seq in seqs {
            clear.arg("SET").arg("u1").arg(*seq).arg(0);
        }
        self.engine.redis().query::<Value>(&clear).await?;
        Ok(())
    }
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
