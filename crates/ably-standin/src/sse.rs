//! Ably's SSE streaming endpoint, as documented ("SSE and Raw HTTP Streaming API"): `GET /sse` (and
//! `/event-stream` with `Accept: text/event-stream`) with `channels` (comma-separated, or split by
//! `separator`), `v`, `accessToken` (a token this stand-in issued, not expired, whose capability allows
//! `subscribe` on every channel) or `key`, `lastEvent` / the `Last-Event-ID` header (resume after that
//! event), `rewind` (the last N messages of each channel first) and `enveloped` (default true: each
//! event's data is `{id, channel, name, data, encoding?, timestamp}`; false: the bare data). Errors come as
//! an `error` event carrying the Ably error JSON, then the stream ends. A comment line every 15 s keeps the
//! connection alive. Every response allows any origin (CORS), as Ably's does.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::Frame;
use serde_json::{Value, json};

use crate::{Body, Config, Event, State, now_ms, permits};

fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| percent_encoding::percent_decode_str(&v.replace('+', " ")).decode_utf8_lossy().to_string())
    })
}

fn frame(text: String) -> Result<Frame<Bytes>, std::io::Error> {
    Ok(Frame::data(Bytes::from(text)))
}

fn event_text(e: &Event, enveloped: bool) -> String {
    let data = if enveloped {
        let mut env = json!({"id": e.id.clone().unwrap_or_else(|| format!("sse-{}", e.serial)),
                             "channel": e.channel, "name": e.name, "data": e.raw, "timestamp": e.timestamp});
        if let Some(enc) = &e.encoding {
            env["encoding"] = Value::String(enc.clone());
        }
        env.to_string()
    } else {
        e.raw.clone()
    };
    // One `data:` line per line of the payload, as the SSE format requires.
    let lines: String = data.lines().map(|l| format!("data: {l}\n")).collect();
    format!("id: {}\n{lines}\n", e.serial)
}

fn error_event(status: u16, code: u32, message: &str) -> String {
    let body = json!({"error": {"code": code, "statusCode": status, "message": message,
                                 "href": format!("https://help.ably.io/error/{code}")}});
    format!("event: error\ndata: {body}\n\n")
}

/// Checks the request; the error event to send instead of a stream, if any.
fn refusal(cfg: &Config, st: &State, query: &str, channels: &[String]) -> Option<String> {
    if param(query, "v").is_none() {
        return Some(error_event(400, 40000, "the protocol version v is required (v=1.2)"));
    }
    if channels.is_empty() || channels.iter().any(|c| c.is_empty()) {
        return Some(error_event(400, 40010, "channels is required: one or more channel names"));
    }
    if let Some(key) = param(query, "key") {
        let good = key.split_once(':').is_some_and(|(n, s)| cfg.keys.iter().any(|(kn, ks)| kn == n && ks == s));
        return (!good).then(|| error_event(401, 40101, "invalid credentials"));
    }
    let Some(token) = param(query, "accessToken") else {
        return Some(error_event(401, 40101, "no credentials: give accessToken (or key)"));
    };
    let tokens = st.tokens.lock().unwrap();
    let Some(t) = tokens.get(&token) else { return Some(error_event(401, 40101, "invalid token")) };
    if t.expires <= now_ms() {
        return Some(error_event(401, 40142, "token expired"));
    }
    if let Some(ch) = channels.iter().find(|ch| !permits(&t.capability, ch, "subscribe")) {
        return Some(error_event(
            401,
            40160,
            &format!("channel {ch}: subscribe not permitted by the token's capability"),
        ));
    }
    None
}

pub(crate) fn stream(cfg: &Config, st: Arc<State>, query: &str, last_event_header: Option<String>) -> Response<Body> {
    let separator = param(query, "separator").unwrap_or_else(|| ",".into());
    let channels: Vec<String> =
        param(query, "channels").map(|c| c.split(separator.as_str()).map(String::from).collect()).unwrap_or_default();
    let enveloped = param(query, "enveloped").is_none_or(|v| v != "false");
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(64);
    let refused = refusal(cfg, &st, query, &channels);
    let last: Option<u64> = last_event_header.or_else(|| param(query, "lastEvent")).and_then(|v| v.parse().ok());
    let rewind: usize = param(query, "rewind").and_then(|v| v.parse().ok()).unwrap_or(0);
    tokio::spawn(async move {
        if let Some(err) = refused {
            let _ = tx.send(frame(err)).await;
            return;
        }
        st.streams.fetch_add(1, Ordering::SeqCst);
        if last.is_some() {
            st.resumes.fetch_add(1, Ordering::SeqCst);
        }
        let cut_at = st.cuts.load(Ordering::SeqCst);
        let mine = |e: &Event| channels.contains(&e.channel);
        // Where to start: after the event resumed from, or the last `rewind` messages of each channel, or now.
        let mut sent = {
            let events = st.events.lock().unwrap();
            match last {
                Some(id) => id,
                None => {
                    let mut start = events.len() as u64;
                    for ch in &channels {
                        let of: Vec<&Event> = events.iter().filter(|e| &e.channel == ch).collect();
                        if rewind > 0 && !of.is_empty() {
                            start = start.min(of[of.len().saturating_sub(rewind)].serial - 1);
                        }
                    }
                    start
                }
            }
        };
        let _ = tx.send(frame(":\n\n".into())).await; // the stream is open
        loop {
            // Registered before looking, so a message published (or a cut) in between still wakes us.
            let notified = st.published.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let batch: Vec<String> = {
                let events = st.events.lock().unwrap();
                let out =
                    events.iter().filter(|e| e.serial > sent && mine(e)).map(|e| event_text(e, enveloped)).collect();
                sent = events.len() as u64;
                out
            };
            for text in batch {
                if tx.send(frame(text)).await.is_err() {
                    st.streams.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
            }
            if st.cuts.load(Ordering::SeqCst) != cut_at {
                break;
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(Duration::from_secs(15)) => {
                    if tx.send(frame(":\n\n".into())).await.is_err() {
                        break;
                    }
                }
            }
            if st.cuts.load(Ordering::SeqCst) != cut_at {
                break;
            }
        }
        st.streams.fetch_sub(1, Ordering::SeqCst);
    });
    let body = StreamBody::new(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) }));
    Response::builder()
        .status(200)
        .header("Content-Type", "text/event-stream")
        .header("Cache-Control", "no-cache")
        .header("Access-Control-Allow-Origin", "*")
        .body(body.boxed())
        .expect("a response")
}
