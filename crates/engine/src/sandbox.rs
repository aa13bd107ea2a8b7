//! The local sandbox, once for every face (`seatwise demo`, the console's "Local sandbox"): a
//! redis-server on this machine with its data in a folder of the user's, the demo shows opened, and
//! simulated buyers on their queues, so the queues move at once.

use std::path::PathBuf;
use std::time::Duration;

use crate::audit::Actor;
use crate::error::{Error, Result};
use crate::local::{RedisServer, ServerOptions};
use crate::queue::Engine;
use crate::redis_conn::{ConnectOptions, Redis, Target};
use crate::sim::{SimConfig, Simulator};

/// Simulated buyers per second in the sandbox unless told otherwise.
pub const SANDBOX_RATE: f64 = 6.0;

/// A running sandbox. Stop it with [`Sandbox::stop`] (its redis-server saves its data on the way out).
pub struct Sandbox {
    server: RedisServer,
    engine: Engine,
}

impl Sandbox {
    /// Starts redis-server with its data in `data_dir` and opens the demo shows there (whatever state a
    /// previous run left them in).
    pub async fn start(data_dir: PathBuf, actor: &Actor) -> Result<Sandbox> {
        // A fresh random password each run: other users of this machine cannot reach the sandbox's data.
        let password: String = (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let server = tokio::task::spawn_blocking(move || {
            RedisServer::start(&ServerOptions {
                data_dir: Some(data_dir),
                password: Some(password),
                ..Default::default()
            })
        })
        .await
        .map_err(|e| Error::Redis(format!("the sandbox's redis-server could not start: {e}")))??;
        let engine = Engine::new(Redis::connect(&ConnectOptions::new(Target::Url(server.url()))).await?);
        // The sandbox's own Redis: demo ids left by an older version are claimed as demo shows.
        engine.open_demo_shows_claiming(actor, true).await?;
        Ok(Sandbox { server, engine })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// `redis://127.0.0.1:<port>`, to show: the server requires a random password, which is never shown.
    pub fn label(&self) -> String {
        self.server.label()
    }

    /// Stops the redis-server (it saves its data first).
    pub async fn stop(self) {
        let server = self.server;
        let _ = tokio::task::spawn_blocking(move || server.shutdown()).await;
    }
}

impl SimConfig {
    /// The sandbox's buyers: `rate` new buyers per second over `engine`'s live queues, 15 % abandoning,
    /// polling every 2 s, choosing seats for 3 to 10 s.
    pub async fn sandbox(engine: &Engine, rate: f64) -> Result<SimConfig> {
        Ok(SimConfig {
            scopes: engine.demo_scopes(&[]).await?,
            join_rate: rate,
            abandon_ratio: 0.15,
            poll_interval: Duration::from_secs(2),
            think: (Duration::from_secs(3), Duration::from_secs(10)),
            ..Default::default()
        })
    }
}

/// Simulated buyers on `cfg.scopes`, which must all be queues of live demo shows ([`Engine::demo_scopes`]):
/// simulated buyers book seats, so they never touch a real show. The only way to start a simulator.
pub async fn simulate_live(engine: &Engine, cfg: SimConfig) -> Result<Simulator> {
    cfg.validate()?;
    if cfg.scopes.is_empty() {
        return Err(Error::NoQueue("any demo show: open the demo shows first (the local sandbox does)".into()));
    }
    let allowed = engine.demo_scopes(&[]).await?;
    if let Some(real) = cfg.scopes.iter().find(|s| !allowed.contains(s)) {
        return Err(Error::ShowRejected {
            show: real.show.to_string(),
            reason: "simulated buyers only ever use the queues of open demo shows: they would book real seats here"
                .into(),
        });
    }
    Ok(Simulator::start(engine.clone(), cfg))
}
