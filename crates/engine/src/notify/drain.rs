//! Telling every buyer of a closed queue: the drain key (a bitmap of the closed generation's buyers) is
//! read in chunks and told 100 channels per request; each buyer's bit is cleared once Ably accepted the
//! notice, so an interrupted drain resumes where it stopped.

use std::collections::HashMap;

use redis::Value;
use seatwise_ably::{Message, stable_id_base};
use serde_json::{Value as Json, json};

use super::delivery::Notifier;
use super::wire::{Entry, Out};
use super::{DrainProgress, GROUP, SCHEMA, ticket_channel};
use crate::error::Result;
use crate::ids::Scope;
use crate::keys;

impl Notifier {
    /// Tells every buyer recorded in a closed generation's drain key, 100 channels per request, clearing
    /// each buyer's bit once Ably accepted the notice, so an interrupted drain resumes where it stopped.
    /// Returns true when everyone has been told (the drain key is then deleted).
    pub(super) async fn drain(
        &self,
        scope: &Scope,
        e: &Entry,
        progress: &(dyn Fn(DrainProgress) + Sync),
    ) -> Result<bool> {
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
