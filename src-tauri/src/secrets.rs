//! Secrets in the OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
//! A secret is written here and read back only by the backend; it never crosses to the webview, is never
//! written to a file by the app, and never appears in a log or an error message.

use crate::error::{UiError, UiResult};
use seatwise_engine::ErrorCode;

const SERVICE: &str = "seatwise-console";

/// A secret value: Debug shows `<redacted>`, and it cannot be serialized (so it cannot reach the UI).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What a secret is for: the keyring entry is `<profile>:<kind>` under the service `seatwise-console`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The Redis URL (or the cluster's seed nodes), which carries the password.
    Redis,
    /// The Ably API key.
    Ably,
    /// The private key of the profile's TLS client certificate (PEM).
    TlsKey,
}

fn entry(profile: &str, kind: Kind) -> UiResult<keyring::Entry> {
    let user = format!(
        "{profile}:{}",
        match kind {
            Kind::Redis => "redis",
            Kind::Ably => "ably",
            Kind::TlsKey => "tls-key",
        }
    );
    keyring::Entry::new(SERVICE, &user).map_err(map)
}

/// Turns keyring failures into messages that say what to install or unlock.
fn map(e: keyring::Error) -> UiError {
    use keyring::Error as K;
    let detail = match &e {
        K::PlatformFailure(inner) => inner.to_string(),
        K::NoStorageAccess(inner) => inner.to_string(),
        _ => String::new(),
    };
    let lower = detail.to_lowercase();
    match e {
        K::NoStorageAccess(_) if lower.contains("locked") || lower.contains("prompt") => UiError::new(
            ErrorCode::KeyringLocked,
            "The OS keyring is locked: unlock it (your login keyring) and try again.",
        ),
        K::NoStorageAccess(_) | K::PlatformFailure(_)
            if lower.contains("serviceunknown")
                || lower.contains("org.freedesktop.secrets")
                || lower.contains("autolaunch")
                || lower.contains("dbus")
                || lower.contains("d-bus") =>
        {
            UiError::new(
                ErrorCode::KeyringUnavailable,
                "No OS keyring is available: on Linux install and start a Secret Service provider (gnome-keyring or KeePassXC) in your desktop session, then try again. Credentials are never kept anywhere else.",
            )
        }
        K::NoStorageAccess(_) => {
            UiError::new(ErrorCode::KeyringDenied, "The OS keyring refused access to Seatwise's credentials.")
        }
        other => UiError::new(ErrorCode::Keyring, format!("The OS keyring failed: {}", kind_of(&other))),
    }
}

/// A description of a keyring error that cannot contain the secret.
fn kind_of(e: &keyring::Error) -> &'static str {
    use keyring::Error as K;
    match e {
        K::PlatformFailure(_) => "platform failure",
        K::NoStorageAccess(_) => "no storage access",
        K::NoEntry => "no entry",
        K::BadEncoding(_) => "a stored value is not text",
        K::TooLong(..) => "a value is too long",
        K::Invalid(..) => "an invalid entry name",
        K::Ambiguous(_) => "several entries match",
        _ => "unknown error",
    }
}

pub fn save(profile: &str, kind: Kind, secret: &Secret) -> UiResult<()> {
    entry(profile, kind)?.set_password(secret.expose()).map_err(map)
}

pub fn load(profile: &str, kind: Kind) -> UiResult<Option<Secret>> {
    match entry(profile, kind)?.get_password() {
        Ok(s) => Ok(Some(Secret(s))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map(e)),
    }
}

pub fn delete(profile: &str, kind: Kind) -> UiResult<()> {
    match entry(profile, kind)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map(e)),
    }
}
