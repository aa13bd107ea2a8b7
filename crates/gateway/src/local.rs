//! The local sandbox as both faces run it (`seatwise demo` and the console's "local sandbox"): a
//! redis-server of its own with the demo shows open (or the demo shows on a configured Redis, for `demo
//! --on-configured-redis`), its buyer gateway on 127.0.0.1, and simulated buyers on the demo shows' queues.
//! One flow, so the CLI and the console cannot drift apart.

use std::path::PathBuf;
use std::sync::Arc;

use seatwise_engine::sandbox::{Sandbox, simulate_live};
use seatwise_engine::sim::{SimConfig, Simulator};
use seatwise_engine::{Actor, Engine};
use tokio::net::TcpListener;

use crate::{Config, Gateway, Running};

pub struct LocalStack {
    engine: Engine,
    /// The redis-server of its own (None: the demo shows on a configured Redis).
    sandbox: Option<Sandbox>,
    gateway: Result<Running, String>,
}

impl LocalStack {
    /// A redis-server in `data_dir` with the demo shows open, and its buyer gateway.
    pub async fn start(data_dir: PathBuf, actor: &Actor) -> seatwise_engine::Result<LocalStack> {
        let sandbox = Sandbox::start(data_dir, actor).await?;
        let engine = sandbox.engine().clone();
        Ok(LocalStack { gateway: start_gateway(&engine).await, engine, sandbox: Some(sandbox) })
    }

    /// The demo shows opened on an engine of the caller's (a configured Redis), and a local buyer gateway.
    /// Shows there that are not demo shows are never edited.
    pub async fn on(engine: Engine, actor: &Actor) -> seatwise_engine::Result<LocalStack> {
        engine.open_demo_shows(actor).await?;
        Ok(LocalStack { gateway: start_gateway(&engine).await, engine, sandbox: None })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// What to call the connection (the sandbox's `127.0.0.1:<port>`, or the configured Redis's label).
    pub fn label(&self) -> String {
        match &self.sandbox {
            Some(s) => s.label(),
            None => self.engine.redis().label().to_string(),
        }
    }

    /// The buyer gateway's URL, or why it could not start (the sandbox works without it).
    pub fn gateway_url(&self) -> Result<String, &str> {
        self.gateway.as_ref().map(Running::url).map_err(String::as_str)
    }

    /// Simulated buyers on the demo shows' open queues of `engine`, `rate` new buyers per second. An
    /// associated function: a face may hold no lock while it runs.
    pub async fn simulate(engine: &Engine, rate: f64) -> seatwise_engine::Result<Simulator> {
        simulate_live(engine, SimConfig::sandbox(engine, rate).await?).await
    }

    /// Stops the gateway (requests in flight finish), then the redis-server.
    pub async fn stop(self) {
        if let Ok(g) = self.gateway {
            g.stop().await;
        }
        if let Some(s) = self.sandbox {
            s.stop().await;
        }
    }
}

/// The local gateway: on 127.0.0.1:8080, or a free port when that one is taken, with the default limits,
/// browser-direct identities and a key of this process.
async fn start_gateway(engine: &Engine) -> Result<Running, String> {
    let run = async {
        let gw = Gateway::new(engine.clone(), None, Config::default()).await.map_err(|e| e.to_string())?;
        let listener = match TcpListener::bind("127.0.0.1:8080").await {
            Ok(l) => l,
            Err(_) => TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?,
        };
        Running::start(listener, Arc::new(gw)).await.map_err(|e| e.to_string())
    };
    run.await.map_err(|e| {
        tracing::warn!(error = %e, "the local buyer gateway could not start");
        format!("the local buyer gateway could not start: {e}")
    })
}
