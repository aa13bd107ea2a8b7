//! The Upstash REST transport: Redis commands over HTTPS (`POST <url>` with a JSON array, `POST
//! <url>/pipeline` with an array of them), for venues whose Redis has no open port. Answers are turned back
//! into RESP values, so the rest of the engine (scripts by EVALSHA with reload on NOSCRIPT, the monitor's
//! pipeline, the worker's stream reads) runs unchanged. Strings come base64-encoded (`Upstash-Encoding:
//! base64`) so binary values survive JSON; an unencoded status like "OK" is accepted too.
//!
//! What the REST API lacks is not used anywhere: no blocking command (the worker reads streams without
//! BLOCK), no WATCH (every multi-key change is one script), no pub/sub.

use std::time::Duration;

use base64::Engine as _;
use redis::{Cmd, RedisError, RedisResult, Value};
use serde_json::Value as Json;

/// A REST connection: the endpoint and its bearer token (a secret: never shown).
#[derive(Clone)]
pub(crate) struct RestConn {
    http: reqwest::Client,
    url: String,
    token: std::sync::Arc<str>,
}

fn io_err(kind: std::io::ErrorKind, msg: String) -> RedisError {
    RedisError::from(std::io::Error::new(kind, msg))
}

/// JSON array of a command's arguments (all text in this engine).
fn args_json(cmd: &Cmd) -> Json {
    Json::Array(
        cmd.args_iter()
            .map(|a| match a {
                redis::Arg::Simple(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
                _ => Json::String("0".into()),
            })
            .collect(),
    )
}

/// Writes one answer as RESP, decoding base64 strings.
fn to_resp(v: &Json, out: &mut Vec<u8>) {
    match v {
        Json::Null => out.extend_from_slice(b"$-1\r\n"),
        Json::Bool(b) => out.extend_from_slice(format!(":{}\r\n", u8::from(*b)).as_bytes()),
        Json::Number(n) => match n.as_i64() {
            Some(i) => out.extend_from_slice(format!(":{i}\r\n").as_bytes()),
            None => bulk(n.to_string().as_bytes(), out),
        },
        Json::String(s) => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(s);
            bulk(decoded.as_deref().unwrap_or(s.as_bytes()), out)
        }
        Json::Array(items) => {
            out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
            for i in items {
                to_resp(i, out);
            }
        }
        Json::Object(o) => match (o.get("result"), o.get("error")) {
            (_, Some(e)) => error(e.as_str().unwrap_or("ERR unknown error"), out),
            (Some(r), None) => to_resp(r, out),
            (None, None) => out.extend_from_slice(b"$-1\r\n"),
        },
    }
}

fn bulk(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

fn error(msg: &str, out: &mut Vec<u8>) {
    // An error line cannot hold a line break.
    let line = msg.replace(['\r', '\n'], " ");
    let line = if line.split_whitespace().next().is_some_and(|w| w.chars().all(|c| c.is_ascii_uppercase())) {
        line
    } else {
        format!("ERR {line}")
    };
    out.push(b'-');
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn parse(v: &Json) -> RedisResult<Value> {
    let mut resp = Vec::new();
    to_resp(v, &mut resp);
    redis::parse_redis_value(&resp)
}

impl RestConn {
    /// HTTPS is verified against the operating system's trust store, plus the CA in `tls` if given; a client
    /// certificate in `tls` is presented to servers that ask for one.
    pub(crate) fn new(
        url: &str,
        token: &str,
        timeout: Duration,
        tls: &crate::redis_conn::TlsOptions,
    ) -> std::result::Result<RestConn, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout);
        if let Some(ca) = &tls.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(ca).map_err(|e| format!("the CA certificate: {e}"))?;
            b = b.tls_certs_merge(certs);
        }
        if let (Some(c), Some(k)) = (&tls.client_cert_pem, &tls.client_key_pem) {
            let mut pem = c.clone();
            pem.extend_from_slice(b"\n");
            pem.extend_from_slice(k);
            let id = reqwest::Identity::from_pem(&pem)
                .map_err(|_| "the client certificate or key is not valid PEM".to_string())?;
            b = b.identity(id);
        }
        let http = b.build().map_err(|e| format!("cannot set up HTTPS: {e}"))?;
        Ok(RestConn { http, url: url.trim_end_matches('/').to_string(), token: token.into() })
    }

    /// POSTs a body. Retried (with backoff) only when the connection could not be made, so the request
    /// never reached the service: a request that was sent runs at most once. When its answer is lost (a
    /// timeout, a gateway's page instead of JSON) the caller is told that the outcome is unknown, never a
    /// second run's answer: a status change, a booking or an admission repeated blindly could apply twice.
    async fn post(&self, path: &str, body: &Json) -> RedisResult<Json> {
        let mut delay = Duration::from_millis(100);
        let mut last = None;
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay *= 3;
            }
            let req = self
                .http
                .post(format!("{}{path}", self.url))
                .bearer_auth(&*self.token)
                .header("Upstash-Encoding", "base64")
                .json(body);
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) if e.is_connect() => {
                    last = Some(io_err(
                        std::io::ErrorKind::ConnectionRefused,
                        "the REST endpoint could not be reached (connection failed)".to_string(),
                    ));
                    continue;
                }
                Err(e) => {
                    let kind = if e.is_timeout() {
                        std::io::ErrorKind::TimedOut
                    } else {
                        std::io::ErrorKind::ConnectionAborted
                    };
                    return Err(io_err(
                        kind,
                        format!(
                            "the REST endpoint took the request but its answer was lost ({}): whether it ran is unknown, so it is not sent again — check the result (refresh) before repeating it",
                            if e.is_timeout() { "timed out" } else { "connection dropped" }
                        ),
                    ));
                }
            };
            let status = resp.status().as_u16();
            let json: Json = match resp.json().await {
                Ok(j) => j,
                Err(_) if status == 401 => Json::Null,
                Err(_) => {
                    return Err(io_err(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "the REST endpoint answered HTTP {status} without JSON (a gateway error page): whether the request ran is unknown, so it is not sent again — check the result (refresh) before repeating it"
                        ),
                    ));
                }
            };
            if status == 401 || status == 403 {
                return Err(RedisError::from((redis::ErrorKind::AuthenticationFailed, "the REST token was refused")));
            }
            return Ok(json);
        }
        Err(last.expect("at least one try"))
    }

    pub(crate) async fn command(&self, cmd: &Cmd) -> RedisResult<Value> {
        let answer = self.post("", &args_json(cmd)).await?;
        match parse(&answer)? {
            Value::ServerError(e) => Err(e.into()),
            v => Ok(v),
        }
    }

    /// Many commands in one request (`/pipeline`, not atomic: each is its own command, as on a
    /// multiplexed connection). Errors come back per command as `Value::ServerError`.
    pub(crate) async fn pipeline(&self, cmds: &[Cmd]) -> RedisResult<Vec<Value>> {
        let body = Json::Array(cmds.iter().map(args_json).collect());
        let answer = self.post("/pipeline", &body).await?;
        let Json::Array(items) = &answer else {
            return match parse(&answer)? {
                Value::ServerError(e) => Err(e.into()),
                other => Err(io_err(std::io::ErrorKind::InvalidData, format!("unexpected pipeline answer: {other:?}"))),
            };
        };
        items.iter().map(parse).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_resp_values() {
        let ok = base64::engine::general_purpose::STANDARD.encode("OK");
        assert_eq!(parse(&serde_json::json!({"result": ok})).unwrap(), Value::BulkString(b"OK".to_vec()));
        assert_eq!(parse(&serde_json::json!({"result": "OK"})).unwrap(), Value::BulkString(b"OK".to_vec()));
        assert_eq!(parse(&serde_json::json!({"result": 7})).unwrap(), Value::Int(7));
        assert_eq!(parse(&serde_json::json!({"result": null})).unwrap(), Value::Nil);
        let v = parse(&serde_json::json!({"result": [1, [2, null]]})).unwrap();
        assert_eq!(v, Value::Array(vec![Value::Int(1), Value::Array(vec![Value::Int(2), Value::Nil])]));
        match parse(&serde_json::json!({"error": "NOSCRIPT No matching script"})).unwrap() {
            Value::ServerError(e) => assert_eq!(e.kind(), Some(redis::ServerErrorKind::NoScript)),
            other => panic!("{other:?}"),
        }
        match parse(&serde_json::json!({"error": "wrong number of arguments"})).unwrap() {
            Value::ServerError(e) => assert_eq!(e.code(), "ERR"),
            other => panic!("{other:?}"),
        }
    }
}
