use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Digest;

use crate::error::{AblyError, Error, Result};

/// Ably's limit on one message: name + data + clientId + extras.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// A message to publish. `data` is sent as Ably specifies: a string as it is, anything else as its JSON
/// text with `encoding: "json"`.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub name: String,
    pub data: Value,
    /// `<base>:<index>`; set it for idempotent publishing (Ably drops repeats seen in the last 2 minutes).
    pub id: Option<String>,
    pub client_id: Option<String>,
}

impl Message {
    pub fn new(name: impl Into<String>, data: Value) -> Message {
        Message { name: name.into(), data, id: None, client_id: None }
    }

    pub fn with_id(mut self, id: String) -> Message {
        self.id = Some(id);
        self
    }

    /// The wire form, checked against Ably's size limit.
    pub(crate) fn to_wire(&self) -> Result<Value> {
        let mut m = Map::new();
        let mut size = self.name.len() + self.client_id.as_ref().map_or(0, String::len);
        if !self.name.is_empty() {
            m.insert("name".into(), Value::String(self.name.clone()));
        }
        match &self.data {
            Value::Null => {}
            Value::String(s) => {
                size += s.len();
                m.insert("data".into(), Value::String(s.clone()));
            }
            other => {
                let text = other.to_string();
                size += text.len();
                m.insert("data".into(), Value::String(text));
                m.insert("encoding".into(), Value::String("json".into()));
            }
        }
        if let Some(id) = &self.id {
            m.insert("id".into(), Value::String(id.clone()));
        }
        if let Some(c) = &self.client_id {
            m.insert("clientId".into(), Value::String(c.clone()));
        }
        if size > MAX_MESSAGE_BYTES {
            return Err(Error::Invalid(format!(
                "message {:?} is {size} bytes; Ably accepts at most {MAX_MESSAGE_BYTES} bytes of name, data and clientId",
                self.name
            )));
        }
        Ok(Value::Object(m))
    }
}

/// A fresh random id base: base64 of 9 random bytes, as ably-js makes them.
pub fn message_id_base() -> String {
    let mut b = [0u8; 9];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A stable id base derived from `seed` (base64 of 12 bytes of SHA-256): the same event gets the same id
/// however often, and by whichever worker, it is published, so Ably's idempotency drops the repeats.
pub fn stable_id_base(seed: &str) -> String {
    let digest = sha2::Sha256::digest(seed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..12])
}

/// One batch publish spec: the same messages to each of `channels`.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchSpec {
    pub channels: Vec<String>,
    pub messages: Vec<Message>,
}

#[derive(Serialize)]
pub(crate) struct WireSpec {
    pub channels: Vec<String>,
    pub messages: Vec<Value>,
}

/// What happened on one channel of a batch publish.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelResult {
    pub channel: String,
    pub outcome: std::result::Result<String, AblyError>,
}
