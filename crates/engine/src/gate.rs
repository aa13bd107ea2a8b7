//! What the buyer gateway keeps in Redis or signs, so that any number of gateway processes agree without
//! talking to each other (docs/PROTOCOL.md, "Buyer gateway"; SECURITY.md):
//! - the gateway's keys ([`KeyRing`]: the current key and the previous ones still accepted, each with an
//!   id carried in what it signs) come from the gateway's configuration, never from Redis: whatever Redis
//!   holds, a watch-only user can read;
//! - proof-of-work challenges: stateless (HMAC-signed, bound to a queue and a time window), single use by
//!   one `SET NX` per solution, verified in O(1);
//! - admission passes: an HMAC-SHA256 token the venue's booking site verifies offline;
//! - fixed-window rate limits, one counter per client or buyer.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ids::{Scope, Ticket};
use crate::keys;
use crate::queue::Engine;
use crate::replies::{self, Context};
use crate::scripts::SCRIPTS;

type HmacSha256 = Hmac<Sha256>;

/// The hardest challenge staff may set: 2^24 hashes, a few seconds in a browser's Web Worker.
pub const MAX_POW_BITS: u32 = 24;
/// How long a challenge may be solved and used.
pub const CHALLENGE_TTL_MS: u64 = 120_000;

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A secret key for signing (32 bytes). Never printed: Debug shows nothing of it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(redacted)")
    }
}

impl SigningKey {
    /// A key from configuration text (at least 32 characters).
    pub fn from_text(what: &'static str, text: &str) -> Result<SigningKey> {
        if text.len() < 32 {
            return Err(Error::invalid(
                what,
                "(hidden)",
                "a key of at least 32 characters (e.g. `openssl rand -hex 32`)",
            ));
        }
        Ok(SigningKey(text.as_bytes().to_vec()))
    }

    /// A key derived for one purpose, so one secret never signs two kinds of token.
    pub fn derive(&self, purpose: &str) -> SigningKey {
        SigningKey(self.mac(&[purpose.as_bytes()]).to_vec())
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// `base64url(HMAC-SHA256(key, text))`.
    pub fn sign(&self, text: &str) -> String {
        B64.encode(self.mac(&[text.as_bytes()]))
    }

    /// Checks a signature made by [`SigningKey::sign`], in constant time.
    pub fn verify(&self, text: &str, signature: &str) -> bool {
        let Ok(sig) = B64.decode(signature) else { return false };
        let mut m = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(text.as_bytes());
        m.verify_slice(&sig).is_ok()
    }

    /// A short keyed hash of a value that must not be stored or logged as it is (buyer ids may be emails).
    pub fn pseudonym(&self, value: &str) -> String {
        B64.encode(&self.mac(&[b"pseudonym:", value.as_bytes()])[..12])
    }
}

/// A key's id: the first 8 characters of base64url(SHA-256) of a derivation of it. Carried in every cookie,
/// challenge and pass, so a verifier picks the key that signed it; says nothing usable about the key.
fn key_id(key: &SigningKey) -> String {
    B64.encode(key.mac(&[b"seatwise-key-id"]))[..8].to_string()
}

/// The signing key in use and the previous ones still accepted (key rotation: SECURITY.md). What one
/// signs carries the key's id; verifying looks the id up, so rotating keys logs nobody out.
#[derive(Clone, Debug)]
pub struct KeyRing {
    /// (id, key); the first signs.
    keys: Vec<(String, SigningKey)>,
}

impl KeyRing {
    pub fn new(current: SigningKey, previous: Vec<SigningKey>) -> KeyRing {
        let mut keys: Vec<(String, SigningKey)> = Vec::new();
        for k in std::iter::once(current).chain(previous) {
            let id = key_id(&k);
            if !keys.iter().any(|(i, _)| *i == id) {
                keys.push((id, k));
            }
        }
        KeyRing { keys }
    }

    /// The current key from `current` and the previous ones from `previous` (comma-separated, may be
    /// empty), each at least 32 characters. `what` names the setting in errors (never the key).
    pub fn from_text(what: &'static str, current: &str, previous: &str) -> Result<KeyRing> {
        let current = SigningKey::from_text(what, current.trim())?;
        let previous = previous
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| SigningKey::from_text(what, p))
            .collect::<Result<Vec<_>>>()?;
        Ok(KeyRing::new(current, previous))
    }

    /// A random key known to this process only: for a single gateway (the local sandbox, tests). Cookies
    /// and passes it signs are worthless to any other process, and to this one after a restart.
    pub fn ephemeral() -> KeyRing {
        let mut k = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut k);
        KeyRing::new(SigningKey(k.to_vec()), Vec::new())
    }

    /// The same ring with each key derived for one purpose (ids kept): one secret never signs two kinds of
    /// token.
    pub fn derive(&self, purpose: &str) -> KeyRing {
        KeyRing { keys: self.keys.iter().map(|(id, k)| (id.clone(), k.derive(purpose))).collect() }
    }

    /// The current key's id.
    pub fn id(&self) -> &str {
        &self.keys[0].0
    }

    /// The current key.
    pub fn current(&self) -> &SigningKey {
        &self.keys[0].1
    }

    /// The key with this id, if it is still accepted.
    pub fn get(&self, id: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|(i, _)| i == id).map(|(_, k)| k)
    }
}

impl Engine {
    /// Sets the proof-of-work difficulty of a queue's joins (0 = off). Returns the previous one.
    pub async fn set_challenge(&self, scope: &Scope, bits: u32) -> Result<u32> {
        let allowed = || format!("0 (off) to {MAX_POW_BITS} bits; each bit doubles the buyer's work");
        self.set_number(scope, &SCRIPTS.challenge, ("challenge difficulty", bits, MAX_POW_BITS), allowed).await
    }

    /// Counts one request against a fixed-window limit. `Ok(None)` = allowed; `Ok(Some(ms))` = over the
    /// limit, retry after `ms`.
    pub async fn rate_limit(&self, kind: &str, who: &str, limit: u64, window_ms: u64) -> Result<Option<u64>> {
        let key = format!("seatwise:rl:{{{kind}:{who}}}");
        let r = self.redis().eval(&SCRIPTS.ratelimit, &[key], &[window_ms.to_string()]).await?;
        replies::over_limit(kind, r, limit)
    }

    /// The online check of an admission pass: until when the ticket's session lasts, or `None` when the
    /// ticket is not admitted with a live session now (it left, booked, was removed, or its session ended).
    /// Read-only: a watch-only connection may run it.
    pub async fn admitted_until(&self, scope: &Scope, ticket: &Ticket) -> Result<Option<u64>> {
        let keys = keys::queue_keys(scope);
        let args = [ticket.generation.to_string(), ticket.seq.to_string(), ticket.tag.clone()];
        let r = self.redis().eval(&SCRIPTS.admitted_ro, &keys, &args).await?;
        Context::ticket(scope, ticket, None).admitted_until(r)
    }

    /// Redeems the proof of work a join brings for `scope` (at least `bits`): checks it ([`Challenge::verify`],
    /// O(1)), then uses it up. `Ok(false)`: it was already used (a replay).
    pub async fn redeem_challenge(
        &self,
        keys: &KeyRing,
        text: &str,
        solution: &str,
        scope: &Scope,
        bits: u32,
    ) -> Result<bool> {
        let c = Challenge::verify(keys, text, solution, scope, bits, now_ms())?;
        self.consume_challenge(&c).await
    }

    /// Uses up a solved challenge: true the first time, false for a replay. The marker lives until the
    /// challenge expires, so the check stays O(1) and the keys clean themselves up.
    pub async fn consume_challenge(&self, c: &Challenge) -> Result<bool> {
        let ttl = c.expires_ms.saturating_sub(now_ms()).max(1);
        let key = format!("seatwise:pow:{}:{}", c.scope.hash_tag(), c.nonce);
        let set: Option<String> =
            self.redis().query(redis::cmd("SET").arg(key).arg(1).arg("NX").arg("PX").arg(ttl)).await?;
        Ok(set.is_some())
    }
}

/// A proof-of-work challenge as issued: `<scope>|<bits>|<expires_ms>|<nonce>|<key id>.<signature>`, opaque to the
/// page, which finds a `solution` (decimal) such that SHA-256(`<challenge>:<solution>`) starts with `bits`
/// zero bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scope: Scope,
    pub bits: u32,
    pub expires_ms: u64,
    pub nonce: String,
}

impl Challenge {
    pub fn issue(keys: &KeyRing, scope: &Scope, bits: u32, now: u64) -> (Challenge, String) {
        let nonce: String = (0..12).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let c = Challenge { scope: scope.clone(), bits, expires_ms: now + CHALLENGE_TTL_MS, nonce };
        let body = format!("{}|{}|{}|{}|{}", c.scope, c.bits, c.expires_ms, c.nonce, keys.id());
        let text = format!("{body}.{}", keys.current().sign(&body));
        (c, text)
    }

    /// Checks a solved challenge for `scope` needing at least `min_bits`: signature, queue, time window and
    /// the work itself, in O(1). Single use is checked separately ([`Engine::consume_challenge`]).
    pub fn verify(
        keys: &KeyRing,
        text: &str,
        solution: &str,
        scope: &Scope,
        min_bits: u32,
        now: u64,
    ) -> Result<Challenge> {
        let bad = |why: &str| Error::invalid("challenge", "(as sent)", why);
        let foreign = || bad("not a challenge issued by this gateway");
        let (body, sig) = text.rsplit_once('.').ok_or_else(foreign)?;
        let parts: Vec<&str> = body.split('|').collect();
        let [s, bits, expires, nonce, kid] = parts[..] else { return Err(foreign()) };
        if !keys.get(kid).is_some_and(|k| k.verify(body, sig)) {
            return Err(foreign());
        }
        let c = Challenge {
            scope: Scope::parse(s)?,
            bits: bits.parse().map_err(|_| bad("malformed"))?,
            expires_ms: expires.parse().map_err(|_| bad("malformed"))?,
            nonce: nonce.to_string(),
        };
        if &c.scope != scope {
            return Err(bad("this challenge was issued for another queue; ask for a new one"));
        }
        if now > c.expires_ms {
            return Err(bad("this challenge has expired; ask for a new one"));
        }
        if c.bits < min_bits {
            return Err(bad("the queue now asks for harder work; ask for a new challenge"));
        }
        if solution.is_empty() || solution.len() > 20 || !solution.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the solution is a decimal number of at most 20 digits"));
        }
        if leading_zero_bits(&Sha256::digest(format!("{text}:{solution}").as_bytes())) < c.bits {
            return Err(bad("the solution does not solve the challenge"));
        }
        Ok(c)
    }

    /// Solves a challenge (tests, the benchmark and the CLI's simulated buyers; pages do it in a Web Worker).
    pub fn solve(text: &str, bits: u32) -> u64 {
        (0u64..).find(|n| leading_zero_bits(&Sha256::digest(format!("{text}:{n}").as_bytes())) >= bits).unwrap_or(0)
    }
}

pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut n = 0;
    for b in hash {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// What an admission pass says. The pass is `base64url(JSON of this).base64url(HMAC-SHA256(pass key,
/// first part))`; see docs/PROTOCOL.md for a verifier in a few lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pass {
    /// `<showId>:<schedId>`.
    pub scope: String,
    pub ticket: String,
    /// When the session, and so the pass, ends (ms since the epoch).
    pub exp: u64,
    /// The id of the pass key that signed it (key rotation: the verifier picks that key).
    #[serde(default)]
    pub kid: String,
}

impl Pass {
    /// Signs the pass with the ring's current key (setting `kid` to its id).
    pub fn sign(mut self, keys: &KeyRing) -> String {
        self.kid = keys.id().to_string();
        let body = B64.encode(serde_json::to_vec(&self).expect("a pass serializes"));
        let sig = keys.current().sign(&body);
        format!("{body}.{sig}")
    }

    /// Verifies a pass offline: signature with the key its `kid` names, then expiry. That the session is
    /// still live is the online check's ([`Engine::admitted_until`]).
    pub fn verify(keys: &KeyRing, text: &str, now: u64) -> Result<Pass> {
        let bad = |why: &str| Error::invalid("admission pass", "(as sent)", why);
        let (body, sig) = text.split_once('.').ok_or_else(|| bad("not a pass: two base64url parts joined by '.'"))?;
        let json = B64.decode(body).map_err(|_| bad("the first part is not base64url"))?;
        let pass: Pass = serde_json::from_slice(&json).map_err(|_| bad("the first part is not a pass"))?;
        if !keys.get(&pass.kid).is_some_and(|k| k.verify(body, sig)) {
            return Err(bad("the signature does not match: not issued with this venue's pass key"));
        }
        if now >= pass.exp {
            return Err(bad("this pass has expired (the buyer's session ended)"));
        }
        Ticket::parse(&pass.ticket)?;
        Ok(pass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vectors the pass checkers in other languages are tested with (integrations/vectors.json)
    /// are what this code signs: regenerate with SEATWISE_WRITE_VECTORS=1 after a format change.
    #[test]
    fn the_checkers_vectors_are_what_seatwise_signs() {
        let key = "the venue's pass key, at least 32 characters";
        let ring = KeyRing::from_text("pass key", key, "").unwrap();
        let (ticket, exp) = ("3.144.0123456789abcdef", 1_800_000_000_000u64);
        let valid =
            Pass { scope: "hamlet-2026:fri-eve".into(), ticket: ticket.into(), exp, kid: String::new() }.sign(&ring);
        let mut forged = valid.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        let v = serde_json::json!({"key": key, "scope": "hamlet-2026:fri-eve", "ticket": ticket, "exp": exp,
                                   "now": exp - 60_000, "valid": valid, "forged": forged});
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../integrations/vectors.json");
        let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
        if std::env::var_os("SEATWISE_WRITE_VECTORS").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        assert_eq!(std::fs::read_to_string(path).unwrap_or_default(), text, "integrations/vectors.json is stale");
    }

    fn key() -> SigningKey {
        SigningKey::from_text("k", "0123456789abcdef0123456789abcdef").unwrap()
    }

    fn ring() -> KeyRing {
        KeyRing::new(key(), Vec::new())
    }

    #[test]
    fn a_challenge_is_bound_to_its_queue_time_and_work() {
        let k = ring();
        let sc = Scope::parse("s1:d1").unwrap();
        let (_, text) = Challenge::issue(&k, &sc, 8, 1000);
        let sol = Challenge::solve(&text, 8).to_string();
        assert!(Challenge::verify(&k, &text, &sol, &sc, 8, 2000).is_ok());
        let other = Scope::parse("s1:d2").unwrap();
        let err = |r: Result<Challenge>| r.unwrap_err().to_string();
        assert!(err(Challenge::verify(&k, &text, &sol, &other, 8, 2000)).contains("another queue"));
        assert!(err(Challenge::verify(&k, &text, &sol, &sc, 8, 1000 + CHALLENGE_TTL_MS + 1)).contains("expired"));
        assert!(err(Challenge::verify(&k, &text, &sol, &sc, 9, 2000)).contains("harder"));
        let wrong = (0u64..)
            .find(|n| leading_zero_bits(&Sha256::digest(format!("{text}:{n}").as_bytes())) < 8)
            .unwrap()
            .to_string();
        assert!(err(Challenge::verify(&k, &text, &wrong, &sc, 8, 2000)).contains("does not solve"));
        let forged = text.replace("|8|", "|0|");
        assert!(err(Challenge::verify(&k, &forged, "0", &sc, 0, 2000)).contains("not a challenge"));
    }

    #[test]
    fn a_pass_verifies_only_with_its_key_and_before_it_expires() {
        let k = ring();
        let p = Pass { scope: "s1:d1".into(), ticket: "1.2.0123456789abcdef".into(), exp: 5000, kid: String::new() };
        let text = p.clone().sign(&k);
        let back = Pass::verify(&k, &text, 4999).unwrap();
        assert_eq!((back.scope, back.ticket, back.exp, back.kid.as_str()), (p.scope, p.ticket, p.exp, k.id()));
        assert!(Pass::verify(&k, &text, 5000).unwrap_err().to_string().contains("expired"));
        let other = KeyRing::from_text("k", "another key of thirty-two characters", "").unwrap();
        assert!(Pass::verify(&other, &text, 1).unwrap_err().to_string().contains("signature"));
        assert!(format!("{k:?}").contains("redacted"));
    }

    #[test]
    fn rotating_keys_keeps_what_the_previous_key_signed_valid_until_it_is_dropped() {
        let old = ring();
        let p = Pass { scope: "s1:d1".into(), ticket: "1.2.0123456789abcdef".into(), exp: 5000, kid: String::new() };
        let by_old = p.clone().sign(&old);
        let sc = Scope::parse("s1:d1").unwrap();
        let (_, challenge) = Challenge::issue(&old, &sc, 0, 1000);
        let rotated =
            KeyRing::from_text("k", "the new key, also of 32 characters or more", "0123456789abcdef0123456789abcdef")
                .unwrap();
        assert_ne!(rotated.id(), old.id());
        assert!(Pass::verify(&rotated, &by_old, 1).is_ok(), "signed before the rotation: still valid");
        assert!(Challenge::verify(&rotated, &challenge, "0", &sc, 0, 2000).is_ok());
        let by_new = p.sign(&rotated);
        assert!(by_new.contains('.'));
        assert!(Pass::verify(&rotated, &by_new, 1).is_ok());
        assert!(Pass::verify(&old, &by_new, 1).is_err(), "the old ring does not know the new key");
        let dropped = KeyRing::from_text("k", "the new key, also of 32 characters or more", "").unwrap();
        assert!(Pass::verify(&dropped, &by_old, 1).is_err(), "the previous key dropped: its passes end");
        assert_eq!(rotated.derive("x").id(), rotated.id(), "derived keys keep their ids");
        assert!(KeyRing::from_text("k", "short", "").is_err());
        assert!(KeyRing::from_text("k", &"a".repeat(32), "short").is_err());
        assert_ne!(KeyRing::ephemeral().id(), KeyRing::ephemeral().id());
    }
}
