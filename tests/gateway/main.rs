//! The buyer gateway over real HTTP: a real redis-server (a 3-master Cluster and the Upstash REST stand-in
//! for one lifecycle each), gateways on free ports, reqwest as the client, ably-js as the reference Ably
//! client, and the admission pass checked by an HMAC computed here, not by the gateway's code.

#[path = "../support/axe.rs"]
mod axe;
#[path = "../support/process.rs"]
mod process;
#[path = "../support/mod.rs"]
mod support;

/// This suite's `start()` talks the Redis protocol.
pub const TRANSPORT: support::Transport = support::Transport::Native;

mod abuse;
mod api;
mod attacks;
mod checkers;
mod deploy;
mod door;
mod failover;
mod page;
mod parsers;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use seatwise_engine::Engine;
use seatwise_gateway::{Config, Gateway, Limits, Running};
use serde_json::{Value, json};

pub async fn gateway(engine: &Engine, config: Config) -> Running {
    gateway_with_ably(engine, config, None).await
}

pub async fn gateway_with_ably(engine: &Engine, config: Config, ably: Option<Arc<seatwise_ably::AblyRest>>) -> Running {
    let gw = Arc::new(Gateway::new(engine.clone(), ably, config).await.expect("gateway"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Running::start(listener, gw).await.unwrap()
}

/// A pass with its signature changed in a way every decoder sees: its first character (a whole 6 bits of
/// the first byte), not its last (whose low bits some base64 decoders ignore).
pub fn forge(pass: &str) -> String {
    let (body, sig) = pass.split_once('.').expect("a pass");
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    format!("{body}.{first}{}", &sig[1..])
}

/// The key every test gateway shares (as every gateway of a deployment does).
pub const GATEWAY_KEY: &str = "the test gateways' signing key, 32+ characters";

pub fn keys() -> seatwise_engine::gate::KeyRing {
    seatwise_engine::gate::KeyRing::from_text("gateway key", GATEWAY_KEY, "").unwrap()
}

/// The test default: no rate limits (tests that check them set their own), the shared key.
pub fn config() -> Config {
    Config { limits: Limits::OFF, gateway_keys: Some(keys()), ..Config::default() }
}

/// What the operators' listener's `/metrics` shows now (the metrics are the process's: every gateway of
/// the test process counts into them).
pub async fn scrape_metrics(engine: &Engine) -> String {
    let gw = Arc::new(Gateway::new(engine.clone(), None, config()).await.expect("gateway"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ops = Running::start_operator(listener, gw).await.unwrap();
    let text = reqwest::get(format!("{}/metrics", ops.url())).await.unwrap().text().await.unwrap();
    ops.stop().await;
    text
}

/// One buyer's browser: keeps the identity cookie the gateway gives it, like a browser would.
#[derive(Default)]
pub struct Browser {
    pub client: reqwest::Client,
    pub cookie: Option<String>,
    pub headers: Vec<(String, String)>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `code` of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser::default()
    }

    /// A venue web app calling for `buyer` with the service key.
    pub fn service(key: &str, buyer: &str) -> Browser {
        let mut b = Browser::new();
        b.headers = vec![("authorization".into(), format!("Bearer {key}")), ("x-seatwise-buyer".into(), buyer.into())];
        b
    }

    pub async fn call(&mut self, method: Method, url: &str, body: Option<Value>) -> Answer {
        let mut r = self.client.request(method, url);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.expect("the gateway answers");
        if let Some(c) = res.headers().get("set-cookie") {
            let c = c.to_str().unwrap();
            self.cookie = Some(c.split(';').next().unwrap().to_string());
        }
        let (status, headers) = (res.status(), res.headers().clone());
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, headers, body }
    }

    pub async fn get(&mut self, url: &str) -> Answer {
        self.call(Method::GET, url, None).await
    }

    pub async fn post(&mut self, url: &str, body: Value) -> Answer {
        self.call(Method::POST, url, Some(body)).await
    }

    pub async fn join(&mut self, base: &str, scope: &str) -> Answer {
        let (show, sched) = scope.split_once(':').unwrap();
        self.post(&format!("{base}/v1/queues/{show}/{sched}/tickets"), json!({})).await
    }

    /// A ticket route: `tickets/<ticket><rest>`.
    pub fn ticket_url(base: &str, scope: &str, ticket: &str, rest: &str) -> String {
        let (show, sched) = scope.split_once(':').unwrap();
        format!("{base}/v1/queues/{show}/{sched}/tickets/{ticket}{rest}")
    }
}
