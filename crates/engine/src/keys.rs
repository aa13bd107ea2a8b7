//! The Redis key schema (documented in docs/PROTOCOL.md). Every key starts with `seatwise:`; every key of
//! one schedule's queue carries the hash tag `{<show>:<sched>}` so that each script touches one slot.

use crate::ids::Scope;

/// The shows catalog: a hash of show id to show JSON. Shares the `{catalog}` tag with the audit stream so
/// that a status change and its audit entry are written by one script.
pub const CATALOG: &str = "seatwise:{catalog}:shows";
/// The audit stream of every show change.
pub const AUDIT: &str = "seatwise:{catalog}:audit";

/// The keys of one schedule's queue, in the order every queue script expects them (see lua/lib/core.lua).
pub fn queue_keys(scope: &Scope) -> [String; 15] {
    let t = scope.hash_tag();
    [
        format!("seatwise:queue:{t}"),
        format!("seatwise:seq:{t}"),
        format!("seatwise:metrics:avg_service_ms:{t}"),
        format!("seatwise:waiting:{t}"),
        format!("seatwise:tickets:{t}"),
        format!("seatwise:buyers:{t}"),
        format!("seatwise:sessions:{t}"),
        format!("seatwise:outbox:{t}"),
        format!("seatwise:session_bits:{t}"),
        format!("seatwise:estimates:{t}"),
        format!("seatwise:missed:{t}"),
        format!("seatwise:returned:{t}"),
        format!("seatwise:holds:{t}"),
        format!("seatwise:session_seats:{t}"),
        format!("seatwise:sold:{t}"),
    ]
}

/// How many of the queue keys join.lua takes: it never touches the seat keys (13 to 15).
pub const JOIN_KEYS: usize = 12;

/// The outbox stream of one queue (the 8th queue key).
pub fn outbox(scope: &Scope) -> String {
    format!("seatwise:outbox:{}", scope.hash_tag())
}

/// The lease of a stream: which worker sends its events (see lua/lease.lua). An outbox's lease shares its
/// queue's hash tag; the audit stream's shares the catalog's.
pub fn lease(stream: &str) -> String {
    match stream.strip_prefix("seatwise:outbox:") {
        Some(tag) => format!("seatwise:lease:{tag}"),
        None => "seatwise:{catalog}:lease".to_string(),
    }
}

/// Where gateways before 0.2 kept their signing key. A watch-only user can read it, so no key is kept in
/// Redis any more; a gateway deletes this one at start (SECURITY.md).
pub const LEGACY_GATEWAY_KEY: &str = "seatwise:{gateway}:key";

/// The sampled history of one queue (see lua/history.lua): a capped stream, one entry per 10 s, ~48 h.
pub fn history(scope: &Scope) -> String {
    format!("seatwise:history:{}", scope.hash_tag())
}

/// The workers alive: a sorted set of consumer name -> the time (ms) its heartbeat runs out. Workers share
/// the streams by it.
pub const WORKERS: &str = "seatwise:workers";

/// The drain bitmap a close leaves behind: who of generation `generation` must still be told the queue closed.
pub fn closing(scope: &Scope, generation: u64) -> String {
    format!("seatwise:closing:{}:{generation}", scope.hash_tag())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{SchedId, ShowId};

    #[test]
    fn every_queue_key_shares_the_scope_tag() {
        let scope = Scope::new(ShowId::new("s1").unwrap(), SchedId::new("d1").unwrap());
        for k in queue_keys(&scope).iter().chain([closing(&scope, 2)].iter()) {
            assert!(k.starts_with("seatwise:"), "{k}");
            assert!(k.contains("{s1:d1}"), "{k}");
        }
        assert_eq!(queue_keys(&scope)[1], "seatwise:seq:{s1:d1}");
        assert_eq!(queue_keys(&scope)[2], "seatwise:metrics:avg_service_ms:{s1:d1}");
    }
}
