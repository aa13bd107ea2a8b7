//! Errors as the UI receives them: `{code, message}`, so the UI can branch on a code. Messages never
//! carry a secret (the engine and the Ably client guarantee it for theirs; ours name no secret).

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UiError {
    pub code: String,
    pub message: String,
}

impl UiError {
    pub fn new(code: &str, message: impl Into<String>) -> UiError {
        UiError { code: code.to_string(), message: message.into() }
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for UiError {}

impl From<seatwise_engine::Error> for UiError {
    fn from(e: seatwise_engine::Error) -> UiError {
        UiError::new(e.code(), e.to_string())
    }
}

impl From<seatwise_ably::Error> for UiError {
    fn from(e: seatwise_ably::Error) -> UiError {
        UiError::new("ably", e.to_string())
    }
}

pub type UiResult<T> = Result<T, UiError>;
