use std::fmt;

use serde::Deserialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error body as Ably sends it: `{"error": {"code", "statusCode", "message", "href"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AblyError {
    #[serde(default)]
    pub code: u32,
    #[serde(default)]
    pub status_code: u16,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub href: Option<String>,
}

impl fmt::Display for AblyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ably error {} (HTTP {}): {}", self.code, self.status_code, self.message)?;
        if let Some(h) = &self.href {
            write!(f, " (see {h})")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Ably answered with an error.
    #[error("{0}")]
    Ably(AblyError),
    /// No answer: every host tried failed with a network error, a timeout or a 5xx.
    #[error("Ably could not be reached: {0}")]
    Unreachable(String),
    /// The configuration is wrong (bad key format, bad endpoint).
    #[error("{0}")]
    Config(String),
    /// The request could not be built (e.g. a message over Ably's size limit).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Whether the same request may succeed later (network trouble or a server-side error).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Unreachable(_) => true,
            Error::Ably(e) => e.status_code >= 500 || e.status_code == 429,
            _ => false,
        }
    }
}
