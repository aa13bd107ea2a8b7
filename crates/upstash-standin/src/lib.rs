//! A local stand-in for Upstash's Redis REST API, used only by tests and benchmarks (the hosted service
//! is out of reach here). It runs every command on a real redis-server and follows Upstash's documented
//! behaviour: `POST /` with a JSON array, `POST /pipeline` with an array of them (not atomic),
//! `POST /multi-exec` (atomic), `Authorization: Bearer <token>` (401 otherwise), `{"result"}` /
//! `{"error"}` bodies with 200 / 400, `Upstash-Encoding: base64` (every string in the answer base64,
//! "OK" included), and no blocking commands, WATCH or pub/sub.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_util::task::AbortOnDropHandle;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use redis::Value;
use serde_json::{Value as Json, json};

pub struct UpstashStandIn {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    lost_answers: Arc<AtomicU64>,
    state: Arc<State>,
    /// The server's task, stopped when the stand-in is dropped.
    _task: AbortOnDropHandle<()>,
}

struct State {
    redis: redis::aio::MultiplexedConnection,
    token: String,
    /// The database's read-only token, served through a Redis ACL user limited to reads (so writes are
    /// refused by Redis itself, NOPERM, as Upstash refuses them).
    read_only: std::sync::Mutex<Option<(String, redis::aio::MultiplexedConnection)>>,
    requests: Arc<AtomicU64>,
    /// Requests still to run whose answer is then replaced by a gateway's HTML error page (a fault).
    lost_answers: Arc<AtomicU64>,
}

const UNSUPPORTED: &[&str] = &[
    "BLPOP",
    "BRPOP",
    "BRPOPLPUSH",
    "BLMOVE",
    "BLMPOP",
    "BZPOPMIN",
    "BZPOPMAX",
    "BZMPOP",
    "WAIT",
    "WATCH",
    "UNWATCH",
    "MULTI",
    "EXEC",
    "DISCARD",
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "MONITOR",
];

impl UpstashStandIn {
    /// Serves on a free port of 127.0.0.1, running commands on the Redis at `redis_url`.
    pub async fn start(redis_url: &str, token: &str) -> UpstashStandIn {
        let client = redis::Client::open(redis_url).expect("a Redis URL");
        let redis = client.get_multiplexed_async_connection().await.expect("connect to the backing redis-server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(AtomicU64::new(0));
        let lost_answers = Arc::new(AtomicU64::new(0));
        let state = Arc::new(State {
            redis,
            token: token.to_string(),
            read_only: std::sync::Mutex::new(None),
            requests: requests.clone(),
            lost_answers: lost_answers.clone(),
        });
        let state_ref = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let st = state.clone();
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
                });
            }
        });
        UpstashStandIn { addr, requests, lost_answers, state: state_ref, _task: AbortOnDropHandle::new(task) }
    }

    /// Also accepts `token` as the database's read-only token, running its commands as the Redis user of
    /// `redis_url` (an ACL user limited to reads).
    pub async fn allow_read_only(&self, token: &str, redis_url: &str) {
        let client = redis::Client::open(redis_url).expect("a Redis URL");
        let conn = client.get_multiplexed_async_connection().await.expect("connect as the read-only user");
        *self.state.read_only.lock().unwrap() = Some((token.to_string(), conn));
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Fault: the next `n` requests run their commands, then answer 502 with an HTML page instead of the
    /// result, as a gateway in front of the service does when its upstream answer is lost.
    pub fn lose_answers(&self, n: u64) {
        self.lost_answers.store(n, Ordering::Relaxed);
    }

    /// HTTP requests received.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

fn reply(status: u16, body: Json) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response")
}

fn to_json(v: &Value, b64: bool) -> Json {
    let text = |b: &[u8]| {
        if b64 {
            Json::String(base64::engine::general_purpose::STANDARD.encode(b))
        } else {
            Json::String(String::from_utf8_lossy(b).into_owned())
        }
    };
    match v {
        Value::Nil => Json::Null,
        Value::Int(n) => json!(n),
        Value::BulkString(b) => text(b),
        Value::SimpleString(s) => text(s.as_bytes()),
        Value::Okay => text(b"OK"),
        Value::Array(a) | Value::Set(a) => Json::Array(a.iter().map(|x| to_json(x, b64)).collect()),
        Value::Map(m) => Json::Array(m.iter().flat_map(|(k, x)| [to_json(k, b64), to_json(x, b64)]).collect()),
        Value::Double(d) => text(d.to_string().as_bytes()),
        Value::Boolean(b) => json!(u8::from(*b)),
        _ => Json::Null,
    }
}

fn error_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => e.to_string(),
    }
}

/// Runs one command; Err is the error text Upstash would put in `{"error"}`.
async fn run(conn: &redis::aio::MultiplexedConnection, args: &Json, b64: bool) -> Result<Json, String> {
    let Some(items) = args.as_array().filter(|a| !a.is_empty()) else {
        return Err("ERR a command is a non-empty JSON array".into());
    };
    let words: Vec<String> = items
        .iter()
        .map(|a| match a {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => Ok(n.to_string()),
            other => Err(format!("ERR unsupported argument {other}")),
        })
        .collect::<Result<_, _>>()?;
    let name = words[0].to_ascii_uppercase();
    let blocking_read =
        (name == "XREAD" || name == "XREADGROUP") && words.iter().any(|w| w.eq_ignore_ascii_case("BLOCK"));
    if UNSUPPORTED.contains(&name.as_str()) || blocking_read {
        return Err(format!(
            "ERR Command is not available: '{}'. See https://upstash.com/docs/redis/overall/rediscompatibility",
            name
        ));
    }
    let mut cmd = redis::cmd(&words[0]);
    for w in &words[1..] {
        cmd.arg(w);
    }
    match cmd.query_async::<Value>(&mut conn.clone()).await {
        Ok(Value::ServerError(e)) => Err(error_text(&e.into())),
        Ok(v) => Ok(to_json(&v, b64)),
        Err(e) => Err(error_text(&e)),
    }
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let answer = answer(&st, req).await?;
    let lost = st.lost_answers.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok();
    if lost {
        return Ok(Response::builder()
            .status(502)
            .header("Content-Type", "text/html")
            .body(Full::new(Bytes::from("<html><body><h1>502 Bad Gateway</h1></body></html>")))
            .expect("a response"));
    }
    Ok(answer)
}

async fn answer(st: &State, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::io::Error> {
    st.requests.fetch_add(1, Ordering::Relaxed);
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(String::from);
    let auth = header("Authorization");
    let conn = if auth == Some(format!("Bearer {}", st.token)) {
        st.redis.clone()
    } else {
        let ro = st.read_only.lock().unwrap().clone();
        match ro {
            Some((t, c)) if auth == Some(format!("Bearer {t}")) => c,
            _ => return Ok(reply(401, json!({"error": "Unauthorized"}))),
        }
    };
    let b64 = header("Upstash-Encoding").is_some_and(|e| e.eq_ignore_ascii_case("base64"));
    let path = req.uri().path().to_string();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if body.len() > 1024 * 1024 {
        return Ok(reply(400, json!({"error": "ERR max request size exceeded"})));
    }
    let Ok(v) = serde_json::from_slice::<Json>(&body) else {
        return Ok(reply(400, json!({"error": "ERR the body must be JSON"})));
    };
    Ok(match path.as_str() {
        "/" | "" => match run(&conn, &v, b64).await {
            Ok(r) => reply(200, json!({"result": r})),
            Err(e) => reply(400, json!({"error": e})),
        },
        "/pipeline" => {
            let Some(cmds) = v.as_array() else {
                return Ok(reply(400, json!({"error": "ERR expected an array of commands"})));
            };
            let mut out = Vec::with_capacity(cmds.len());
            for c in cmds {
                out.push(match run(&conn, c, b64).await {
                    Ok(r) => json!({"result": r}),
                    Err(e) => json!({"error": e}),
                });
            }
            reply(200, Json::Array(out))
        }
        "/multi-exec" => {
            let Some(cmds) = v.as_array() else {
                return Ok(reply(400, json!({"error": "ERR expected an array of commands"})));
            };
            let mut pipe = redis::pipe();
            pipe.atomic();
            for c in cmds {
                let Some(words) = c.as_array() else {
                    return Ok(reply(400, json!({"error": "ERR a command is an array"})));
                };
                let mut cmd = redis::cmd(words.first().and_then(Json::as_str).unwrap_or(""));
                for w in &words[1..] {
                    cmd.arg(w.as_str().map(String::from).unwrap_or_else(|| w.to_string()));
                }
                pipe.add_command(cmd);
            }
            match pipe.query_async::<Vec<Value>>(&mut conn.clone()).await {
                Ok(vals) => reply(200, Json::Array(vals.iter().map(|x| json!({"result": to_json(x, b64)})).collect())),
                Err(e) => reply(400, json!({"error": error_text(&e)})),
            }
        }
        other => reply(404, json!({"error": format!("ERR no route {other}")})),
    })
}
