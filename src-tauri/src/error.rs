//! Errors as the UI receives them: `{code, message}`, the code one of the engine's [`ErrorCode`]s, so the
//! UI branches on a code and never on text. Messages never carry a secret (the engine and the Ably client
//! guarantee it for theirs; ours name no secret).

use seatwise_engine::ErrorCode;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UiError {
    pub code: ErrorCode,
    pub message: String,
}

impl UiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> UiError {
        UiError { code, message: message.into() }
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
        UiError::new(ErrorCode::Ably, e.to_string())
    }
}

pub type UiResult<T> = Result<T, UiError>;
