use std::fmt;

use crate::error::{Error, Result};

/// An Ably API key, `appId.keyId:secret`. The secret is never shown by Debug or Display.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    name: String,
    secret: String,
}

impl ApiKey {
    /// Checks the format offline: `appId.keyId:secret`, each part non-empty, no whitespace.
    pub fn parse(text: &str) -> Result<ApiKey> {
        let bad = || {
            Error::Config(
                "an Ably API key looks like appId.keyId:secret (copy it whole from the Ably dashboard)".into(),
            )
        };
        let (name, secret) = text.trim().split_once(':').ok_or_else(bad)?;
        let (app, key) = name.split_once('.').ok_or_else(bad)?;
        let ok = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok(app) || !ok(key) || !ok(secret) || key.contains('.') || secret.contains(':') {
            return Err(bad());
        }
        Ok(ApiKey { name: name.to_string(), secret: secret.to_string() })
    }

    /// `appId.keyId`: public.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// A hint safe to show: the key name and the secret's length.
    pub fn hint(&self) -> String {
        format!("{}:{}", self.name, "•".repeat(self.secret.chars().count().min(8)))
    }

    pub(crate) fn basic_auth(&self) -> String {
        use base64::Engine;
        let raw = format!("{}:{}", self.name, self.secret);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}:<redacted>)", self.name)
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:<redacted>", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_never_show_their_secret() {
        let k = ApiKey::parse("app1.key1:TopSecretValue").unwrap();
        assert_eq!(k.name(), "app1.key1");
        for shown in [format!("{k:?}"), k.to_string(), k.hint()] {
            assert!(!shown.contains("TopSecretValue"), "{shown}");
        }
        for bad in ["", "nocolon", "app:secret", "app.key:", ".key:s", "app.key:sec ret", "a.b.c:s"] {
            let e = ApiKey::parse(bad).unwrap_err().to_string();
            assert!(e.contains("appId.keyId:secret"), "{bad}: {e}");
        }
    }
}
