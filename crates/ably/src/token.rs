use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::key::ApiKey;

/// A capability: resource name → operations. Canonical text (as ably-js `c14n` makes it): resources
/// sorted, each operation list sorted, no whitespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capability(pub BTreeMap<String, Vec<String>>);

impl Capability {
    pub fn new() -> Capability {
        Capability::default()
    }

    pub fn allow(mut self, resource: &str, ops: &[&str]) -> Capability {
        let mut v: Vec<String> = ops.iter().map(|s| s.to_string()).collect();
        v.sort();
        v.dedup();
        self.0.insert(resource.to_string(), v);
        self
    }

    pub fn canonical(&self) -> String {
        let mut sorted = self.clone();
        for ops in sorted.0.values_mut() {
            ops.sort();
        }
        serde_json::to_string(&sorted.0).expect("a capability serialises")
    }
}

/// What the token should carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenParams {
    pub ttl_ms: Option<u64>,
    pub capability: Option<Capability>,
    pub client_id: Option<String>,
    /// Ably's clock in ms; None = this machine's clock.
    pub timestamp: Option<u64>,
    /// At least 16 characters, never reused; None = a fresh random one.
    pub nonce: Option<String>,
}

/// A signed token request, as handed to ably-js clients through an authUrl. Fields not set are left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    pub key_name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttl: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub capability: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    pub timestamp: u64,
    pub nonce: String,
    pub mac: String,
}

/// A token as Ably issues it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenDetails {
    pub token: String,
    #[serde(default)]
    pub key_name: String,
    pub issued: u64,
    pub expires: u64,
    #[serde(default)]
    pub capability: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The text ably-js signs: every field followed by a newline, absent fields empty.
pub(crate) fn sign_text(r: &TokenRequest) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n",
        r.key_name,
        r.ttl.map(|t| t.to_string()).unwrap_or_default(),
        r.capability.as_deref().unwrap_or(""),
        r.client_id.as_deref().unwrap_or(""),
        r.timestamp,
        r.nonce
    )
}

pub(crate) fn mac(secret: &str, text: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

fn random_nonce() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut r = rand::rng();
    (0..24).map(|_| ALPHABET[r.random_range(0..ALPHABET.len())] as char).collect()
}

/// Signs a token request with `key` (no network needed).
pub(crate) fn create(key: &ApiKey, p: TokenParams, now_ms: u64) -> TokenRequest {
    let mut r = TokenRequest {
        key_name: key.name().to_string(),
        ttl: p.ttl_ms,
        capability: p.capability.map(|c| c.canonical()),
        client_id: p.client_id,
        timestamp: p.timestamp.unwrap_or(now_ms),
        nonce: p.nonce.unwrap_or_else(random_nonce),
        mac: String::new(),
    };
    r.mac = mac(key.secret(), &sign_text(&r));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_text_is_canonical() {
        let c = Capability::new().allow("b:x", &["subscribe", "history"]).allow("a:y", &["subscribe"]);
        assert_eq!(c.canonical(), r#"{"a:y":["subscribe"],"b:x":["history","subscribe"]}"#);
    }

    #[test]
    fn sign_text_has_every_field_followed_by_a_newline() {
        let key = ApiKey::parse("app.key:secret").unwrap();
        let r = create(&key, TokenParams { timestamp: Some(5), nonce: Some("n".repeat(16)), ..Default::default() }, 0);
        assert_eq!(sign_text(&r), format!("app.key\n\n\n\n5\n{}\n", "n".repeat(16)));
        let j = serde_json::to_value(&r).unwrap();
        assert!(j.get("ttl").is_none() && j.get("clientId").is_none() && j.get("capability").is_none());
    }
}
