//! The pre-queue's provably fair draw, computed outside Redis (docs/PROTOCOL.md, "Provably fair draw"):
//! anyone with the revealed seed and the pre-queue size recomputes the order, and the SHA-256 commitment
//! published when the pre-queue opened proves the seed was fixed before anyone joined.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ids::Scope;
use crate::keys;
use crate::queue::Engine;
use crate::scripts::SCRIPTS;

/// A fresh seed (32 random bytes as hex) and its commitment, `hex(SHA-256(seed as text))`.
pub fn new_seed() -> (String, String) {
    let seed: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let commit = commitment(&seed);
    (seed, commit)
}

pub fn commitment(seed: &str) -> String {
    Sha256::digest(seed.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The 4-round balanced Feistel permutation of 0..n with cycle walking (the same as `feistel` in lua/lib/draw.lua).
fn feistel(seed: &str, n: u64, mut x: u64, inverse: bool) -> u64 {
    let mut h = 1u32;
    while 4u64.pow(h) < n {
        h += 1;
    }
    let size = 1u64 << h;
    let f = |i: u32, v: u64| {
        let hex = sha1_smol::Sha1::from(format!("{seed}:{i}:{v}")).digest().to_string();
        u64::from_str_radix(&hex[..8], 16).expect("hex") % size
    };
    loop {
        let (mut l, mut r) = (x / size, x % size);
        if inverse {
            for i in (1..=4).rev() {
                (l, r) = (r ^ f(i, l), l);
            }
        } else {
            for i in 1..=4 {
                (l, r) = (r, l ^ f(i, r));
            }
        }
        x = l * size + r;
        if x < n {
            return x;
        }
    }
}

/// The position (from 1) of pre-queue ticket `seq` (from 1) among `n`.
pub fn position(seed: &str, n: u64, seq: u64) -> u64 {
    feistel(seed, n, seq - 1, false) + 1
}

/// The ticket seq at `position` (both from 1).
pub fn seq_at(seed: &str, n: u64, position: u64) -> u64 {
    feistel(seed, n, position - 1, true) + 1
}

/// Places listed per script call by `verify_draw` (each costs ~8 SHA-1s: a call stays near a millisecond).
const BATCH: u64 = 250;

/// What `verify-draw` found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrawCheck {
    pub scope: String,
    pub commitment: String,
    pub seed: String,
    pub tickets: u64,
    /// SHA-256 of the order (the seqs in admission order, comma-separated), to compare with others'.
    pub order_digest: String,
    pub first: Vec<u64>,
}

impl Engine {
    /// Recomputes a queue's drawn pre-queue order from its published data (commitment, revealed seed,
    /// size), checks the commitment, and checks every place against the order the queue admits in.
    pub async fn verify_draw(&self, scope: &Scope) -> Result<DrawCheck> {
        let s = self.queue_stats(std::slice::from_ref(scope)).await?.remove(0)?;
        if s.draw_count == 0 || s.draw_seed.is_empty() {
            return Err(Error::invalid(
                "draw",
                &scope.to_string(),
                "this queue has no revealed draw: it had no pre-queue, or the sale has not opened yet",
            ));
        }
        if commitment(&s.draw_seed) != s.draw_commit {
            return Err(Error::Redis(format!(
                "the revealed seed does not match the commitment published at the pre-queue's opening ({})",
                s.draw_commit
            )));
        }
        let n = s.draw_count;
        let mut order = Vec::with_capacity(n as usize);
        let mut from = 1u64;
        while from <= n {
            let args = vec![from.to_string(), BATCH.to_string()];
            let r = self.redis().eval(&SCRIPTS.draw_ro, &keys::queue_keys(scope), &args).await?;
            for (i, v) in crate::replies::draw_places(r)?.iter().enumerate() {
                let pos = from + i as u64;
                let mine = seq_at(&s.draw_seed, n, pos);
                if v.parse::<u64>().ok() != Some(mine) {
                    return Err(Error::Redis(format!(
                        "place {pos}: the queue admits ticket {v}, the published draw says {mine}"
                    )));
                }
                order.push(mine);
            }
            from += BATCH;
        }
        let text = order.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        Ok(DrawCheck {
            scope: scope.to_string(),
            commitment: s.draw_commit,
            seed: s.draw_seed,
            tickets: n,
            order_digest: commitment(&text),
            first: order.iter().take(10).copied().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draw_is_a_permutation_and_matches_the_published_test_vector() {
        for n in [1u64, 2, 3, 10, 17, 1000] {
            let mut seen: Vec<u64> = (1..=n).map(|s| position("seed", n, s)).collect();
            for s in 1..=n {
                assert_eq!(seq_at("seed", n, position("seed", n, s)), s);
            }
            seen.sort();
            assert_eq!(seen, (1..=n).collect::<Vec<_>>(), "a permutation of 1..{n}");
        }
        // The test vector of docs/PROTOCOL.md.
        let order: Vec<u64> = (1..=10).map(|p| seq_at("seatwise", 10, p)).collect();
        assert_eq!(order, TEST_VECTOR, "{order:?}");
        assert_eq!(commitment("seatwise"), "10515dbea79cbb078720586d582a76503925dd1c889a4d99fb0c7f05be80dfde");
    }

    const TEST_VECTOR: [u64; 10] = [2, 5, 4, 3, 9, 6, 10, 1, 8, 7];
}
