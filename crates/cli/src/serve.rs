//! `seatwise serve`: the buyer gateway (crates/gateway) on the configured Redis, until Ctrl-C or SIGTERM;
//! requests in flight finish before it exits.

use std::sync::Arc;

use seatwise_ably::AblyRest;
use seatwise_engine::Engine;
use seatwise_engine::gate::SigningKey;
use seatwise_gateway::{Config, Gateway, Limit, Limits};

use crate::args::ServeArgs;
use crate::{Fail, Out};

fn secret(var: &'static str) -> Result<Option<SigningKey>, Fail> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| SigningKey::from_text(var, &v).map_err(|e| Fail(2, e.to_string())))
        .transpose()
}

pub async fn run(engine: Engine, ably: Option<Arc<AblyRest>>, a: ServeArgs) -> Out {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEATWISE_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match a.log.as_str() {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => return Err(Fail(2, format!("--log {other:?}: use text or json"))),
    }
    let service_key = std::env::var("SEATWISE_SERVICE_KEY").ok().filter(|k| !k.is_empty());
    if service_key.as_ref().is_some_and(|k| k.len() < 32) {
        return Err(Fail(
            2,
            "SEATWISE_SERVICE_KEY: use a key of at least 32 characters (e.g. `openssl rand -hex 32`)".into(),
        ));
    }
    if a.no_browser_direct && service_key.is_none() {
        return Err(Fail(2, "--no-browser-direct leaves only server-to-server calls: set SEATWISE_SERVICE_KEY".into()));
    }
    let config = Config {
        service_key,
        browser_direct: !a.no_browser_direct,
        cors_origins: a.cors_origins,
        trust_proxy: a.trust_proxy,
        gateway_key: secret("SEATWISE_GATEWAY_KEY")?,
        pass_key: secret("SEATWISE_PASS_KEY")?,
        limits: Limits {
            join_per_ip: Limit::per_minute(a.join_per_ip),
            join_per_buyer: Limit::per_minute(a.join_per_buyer),
            status_per_ip: Limit::per_minute(a.status_per_ip),
            status_per_buyer: Limit::per_minute(a.status_per_buyer),
        },
        sold_out_margin: a.sold_out_margin.max(0.0),
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .map_err(|e| Fail(2, format!("--listen {}: cannot listen there: {e}", a.listen)))?;
    let gw = Arc::new(Gateway::new(engine, ably, config).await?);
    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "buyer gateway listening");
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("stopping: finishing the requests in flight");
    };
    seatwise_gateway::serve(listener, gw, shutdown).await.map_err(|e| Fail(1, format!("the gateway stopped: {e}")))
}
