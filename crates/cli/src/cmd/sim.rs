//! Simulated buyers (`simulate`) and the local sandbox (`demo`).

use std::path::PathBuf;
use std::time::Duration;

use seatwise_engine::ErrorCode;
use seatwise_engine::sandbox::simulate_live;
use seatwise_engine::sim::SimConfig;
use seatwise_engine::{Actor, Engine, Scope, ShowId};
use seatwise_gateway::local::LocalStack;

use crate::args::{ConnArgs, SimArgs};
use crate::*;

pub(crate) async fn sim_scopes(engine: &Engine, only: &[String]) -> Result<Vec<Scope>, Fail> {
    let only = only.iter().map(|s| ShowId::new(s)).collect::<Result<Vec<_>, _>>()?;
    // Simulated buyers book seats: they only ever use demo shows.
    let scopes = engine.demo_scopes(&only).await?;
    if scopes.is_empty() {
        return Err(Fail::new(
            ErrorCode::NotFound,
            "no open demo show to simulate buyers for: simulated buyers only use the demo shows that `seatwise demo` (or the console's local sandbox) opens",
        ));
    }
    Ok(scopes)
}

pub(crate) fn sim_config(scopes: Vec<Scope>, a: &SimArgs) -> Result<SimConfig, Fail> {
    let c = SimConfig {
        scopes,
        join_rate: a.rate,
        abandon_ratio: a.abandon,
        poll_interval: Duration::from_millis(a.poll_ms.max(50)),
        max_buyers: a.buyers,
        ..Default::default()
    };
    c.validate()?;
    Ok(c)
}

/// Prints `line()` to stderr every 5 seconds until Ctrl-C (or until `duration` has passed).
pub(crate) async fn report_every_5s(duration: Option<Duration>, line: impl Fn() -> String) {
    let deadline = duration.map(|d| tokio::time::Instant::now() + d);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        eprintln!("{}", line());
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return;
        }
    }
}

pub(crate) async fn simulate(engine: &Engine, a: SimArgs) -> Out {
    let scopes = sim_scopes(engine, &a.show).await?;
    let n = scopes.len();
    let sim = simulate_live(engine, sim_config(scopes, &a)?).await?;
    eprintln!("simulating {} buyers/s over {n} queues; Ctrl-C to stop", a.rate);
    report_every_5s(a.duration.map(Duration::from_secs), || {
        let s = sim.snapshot();
        format!(
            "joined {} admitted {} booked {} abandoned {} left {} seat conflicts {} errors {}",
            s.joined, s.admitted, s.completed, s.abandoned, s.left, s.seat_conflicts, s.errors
        )
    })
    .await;
    let s = sim.stop().await;
    print_json(&s);
    Ok(())
}

pub(crate) fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("seatwise").join("sandbox")
}

pub(crate) async fn demo(
    conn: &ConnArgs,
    data_dir: Option<PathBuf>,
    duration: Option<u64>,
    interval: u64,
    rate: f64,
    on_configured_redis: bool,
) -> Out {
    // The demo runs its own local Redis. A configured Redis is used only when asked for explicitly (the
    // demo shows and simulated buyers would go there), and a show there that is not a demo show is never
    // edited.
    let configured = conn.redis_url.is_some() || conn.cluster.is_some() || conn.upstash_url.is_some();
    if configured && !on_configured_redis {
        return Err(Fail::new(
            ErrorCode::Invalid,
            "a Redis is configured (SEATWISE_REDIS_URL, SEATWISE_REDIS_CLUSTER or SEATWISE_UPSTASH_URL): `seatwise demo` starts its own local Redis instead; unset the variable, or pass --on-configured-redis to put the demo shows and simulated buyers in the configured one",
        ));
    }
    let actor = Actor::current();
    let stack = if configured {
        LocalStack::on(connect(conn).await?, &actor).await?
    } else {
        let dir = data_dir.unwrap_or_else(default_data_dir);
        eprintln!("starting a local redis-server (data in {})", dir.display());
        let s = LocalStack::start(dir, &actor).await?;
        eprintln!("sandbox Redis at {} (protected by a random password, new each run)", s.label());
        s
    };
    let url = match stack.gateway_url() {
        Ok(url) => url,
        Err(e) => {
            let e = e.to_string();
            stack.stop().await;
            return Err(Fail::new(ErrorCode::Incomplete, e));
        }
    };
    let engine = stack.engine().clone();
    let sim = LocalStack::simulate(&engine, rate).await?;
    eprintln!("buyer gateway at {url} (API: {url}/v1/openapi.json)");
    let r = monitor::run(&engine, Duration::from_secs(interval.max(1)), false, duration.map(Duration::from_secs)).await;
    let snap = sim.stop().await;
    eprintln!(
        "simulated buyers: joined {} admitted {} booked {} abandoned {} left {}",
        snap.joined, snap.admitted, snap.completed, snap.abandoned, snap.left
    );
    stack.stop().await;
    r
}
