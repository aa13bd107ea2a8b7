//! A small Ably REST client, written to Ably's features specification (the old `ably` crate is
//! abandoned): publish and batch publish with idempotent message ids, Basic auth with an API key, the
//! version and agent headers, JSON data encoding, fallback hosts and retries, error bodies parsed into
//! [`AblyError`], a ceiling on requests per second, and token requests signed byte for byte as ably-js
//! signs them.
//!
//! The API key is a secret: [`ApiKey`] never shows it in Debug or Display, and no error carries it.

mod client;
mod error;
mod key;
mod message;
mod token;

pub use client::{AblyConfig, AblyRest, Endpoint, RequestStats, is_loopback_host};
pub use error::{AblyError, Error, Result};
pub use key::ApiKey;
pub use message::{BatchSpec, ChannelResult, Message, message_id_base, stable_id_base};
pub use token::{Capability, TokenDetails, TokenParams, TokenRequest};
