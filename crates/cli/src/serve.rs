//! `seatwise serve`: the buyer gateway (crates/gateway) on the configured Redis, until Ctrl-C or SIGTERM;
//! requests in flight finish before it exits.

use std::sync::Arc;

use seatwise_ably::AblyRest;
use seatwise_engine::gate::KeyRing;
use seatwise_engine::{Engine, ErrorCode};
use seatwise_gateway::{Config, Gateway, Limit, Limits};

use crate::args::ServeArgs;
use crate::{Fail, Out};

fn invalid(message: String) -> Fail {
    Fail::new(ErrorCode::Invalid, message)
}

/// A secret from `VAR`, or from the file `VAR_FILE` names (a mounted secret; one trailing newline is not
/// part of it). Never both.
fn secret_text(var: &str) -> Result<Option<String>, Fail> {
    let direct = std::env::var(var).ok().filter(|v| !v.is_empty());
    let file = std::env::var(format!("{var}_FILE")).ok().filter(|v| !v.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(invalid(format!("{var} and {var}_FILE are both set: give one"))),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map(|t| Some(t.trim_end_matches(['\n', '\r']).to_string()))
            .map_err(|e| invalid(format!("{var}_FILE: cannot read {path}: {e}"))),
        (None, None) => Ok(None),
    }
}

/// A key ring from `VAR` (the key in use) and `VAR_PREVIOUS` (keys still accepted while rotating).
fn key_ring(var: &'static str) -> Result<Option<KeyRing>, Fail> {
    let previous = secret_text(&format!("{var}_PREVIOUS"))?.unwrap_or_default();
    match secret_text(var)? {
        Some(k) => Ok(Some(KeyRing::from_text(var, &k, &previous)?)),
        None if !previous.is_empty() => Err(invalid(format!("{var}_PREVIOUS is set without {var}"))),
        None => Ok(None),
    }
}

/// The gateway's configuration from its flags and the environment, checked.
pub fn config(a: &ServeArgs) -> Result<Config, Fail> {
    let service_key = secret_text("SEATWISE_SERVICE_KEY")?;
    if service_key.as_ref().is_some_and(|k| k.len() < 32) {
        return Err(invalid(
            "SEATWISE_SERVICE_KEY: use a key of at least 32 characters (e.g. `openssl rand -hex 32`)".into(),
        ));
    }
    if a.no_browser_direct && service_key.is_none() {
        return Err(invalid("--no-browser-direct leaves only server-to-server calls: set SEATWISE_SERVICE_KEY".into()));
    }
    let Some(gateway_keys) = key_ring("SEATWISE_GATEWAY_KEY")? else {
        return Err(invalid(
            "SEATWISE_GATEWAY_KEY is required: a secret of at least 32 characters (`openssl rand -hex 32`), the \
             same on every gateway, kept out of Redis (anyone who can read Redis could forge passes with it); \
             or SEATWISE_GATEWAY_KEY_FILE naming a file that holds it. See SECURITY.md"
                .into(),
        ));
    };
    if a.trust_proxy && a.proxy_hops > 1 {
        return Err(invalid("--trust-proxy is --proxy-hops 1: give one of them".into()));
    }
    let per_min = Limit::per_minute;
    let config = Config {
        service_key,
        browser_direct: !a.no_browser_direct,
        cors_origins: a.cors_origins.clone(),
        proxy_hops: if a.trust_proxy { 1 } else { a.proxy_hops },
        gateway_keys: Some(gateway_keys),
        pass_keys: key_ring("SEATWISE_PASS_KEY")?,
        limits: Limits {
            join_per_ip: per_min(a.join_per_ip),
            join_per_buyer: per_min(a.join_per_buyer),
            new_buyer_per_ip: per_min(a.new_buyer_per_ip),
            status_per_ip: per_min(a.status_per_ip),
            status_per_buyer: per_min(a.status_per_buyer),
            action_per_ip: per_min(a.action_per_ip),
            action_per_buyer: per_min(a.action_per_buyer),
            live_per_ip: per_min(a.live_per_ip),
            live_per_buyer: per_min(a.live_per_buyer),
            seats_per_ip: per_min(a.seats_per_ip),
            verify_per_ip: per_min(a.verify_per_ip),
        },
        max_connections: a.max_connections,
        sold_out_margin: a.sold_out_margin.max(0.0),
        door: match &a.door {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| invalid(format!("--door {}: cannot read it: {e}", path.display())))?;
                let door = seatwise_gateway::door::DoorConfig::parse(&text)
                    .map_err(|e| invalid(format!("--door {}: {e}", path.display())))?;
                Some(std::sync::Arc::new(door))
            }
        },
        ..Config::default()
    };
    config.validate().map_err(invalid)?;
    Ok(config)
}

async fn bind(what: &str, addr: &str) -> Result<tokio::net::TcpListener, Fail> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| invalid(format!("{what} {addr}: cannot listen there: {e}")))
}

pub async fn run(engine: Engine, ably: Option<Arc<AblyRest>>, a: ServeArgs) -> Out {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEATWISE_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match a.log.as_str() {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => return Err(invalid(format!("--log {other:?}: use text or json"))),
    }
    let config = config(&a)?;
    let listener = bind("--listen", &a.listen).await?;
    let metrics_listener = match &a.metrics_listen {
        Some(addr) => Some(bind("--metrics-listen", addr).await?),
        None => None,
    };
    let gw = Arc::new(Gateway::new(engine, ably, config).await?);
    gw.forget_legacy_key().await;
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "buyer gateway listening");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let metrics = metrics_listener.map(|l| {
        tracing::info!(addr = %l.local_addr().map(|a| a.to_string()).unwrap_or_default(), "metrics listening");
        tokio::spawn(seatwise_gateway::serve_metrics(l, gw.clone(), stopped()))
    });
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("stopping: finishing the requests in flight");
        let _ = stop_tx.send(true);
    });
    let served = seatwise_gateway::serve(listener, gw, stopped()).await;
    if let Some(m) = metrics {
        let _ = m.await;
    }
    served.map_err(|e| Fail::new(ErrorCode::Incomplete, format!("the gateway stopped: {e}")))
}
