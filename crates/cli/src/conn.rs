//! The connection a command runs on: Redis (URL, Cluster, Upstash REST, TLS) and Ably, from flags and the
//! environment.

use std::sync::Arc;
use std::time::Duration;

use seatwise_ably::AblyRest;
use seatwise_engine::ErrorCode;
use seatwise_engine::connect::AblyOptions;
use seatwise_engine::{Actor, ConnectOptions, Engine, Redis, Target};

use crate::Fail;
use crate::args::ConnArgs;

pub(crate) fn options(c: &ConnArgs, target: Target) -> Result<ConnectOptions, Fail> {
    let mut o = ConnectOptions::new(target);
    o.connect_timeout = Duration::from_millis(c.connect_timeout_ms);
    o.response_timeout = Duration::from_millis(c.timeout_ms);
    o.watch_only = c.watch_only;
    let read = |flag: &str, path: &Option<std::path::PathBuf>| -> Result<Option<Vec<u8>>, Fail> {
        path.as_ref()
            .map(|p| {
                std::fs::read(p)
                    .map_err(|e| Fail::new(ErrorCode::File, format!("{flag}: cannot read {}: {e}", p.display())))
            })
            .transpose()
    };
    o.tls.ca_pem = read("--tls-ca", &c.tls_ca)?;
    o.tls.client_cert_pem = read("--tls-cert", &c.tls_cert)?;
    o.tls.client_key_pem = read("--tls-key", &c.tls_key)?;
    Ok(o)
}

pub(crate) async fn connect(c: &ConnArgs) -> Result<Engine, Fail> {
    let chosen =
        usize::from(c.redis_url.is_some()) + usize::from(c.cluster.is_some()) + usize::from(c.upstash_url.is_some());
    if chosen > 1 {
        return Err(Fail::new(ErrorCode::Invalid, "give one of --redis-url, --cluster or --upstash-url, not several"));
    }
    warn_if_password_on_command_line(c);
    let target = if let Some(url) = &c.redis_url {
        Target::Url(url.clone())
    } else if let Some(list) = &c.cluster {
        Target::Cluster(seatwise_engine::redis_conn::parse_seed_list(list))
    } else if let Some(url) = &c.upstash_url {
        let token = std::env::var("SEATWISE_UPSTASH_TOKEN").map_err(|_| {
            Fail::new(
                ErrorCode::Invalid,
                "--upstash-url needs the REST token in SEATWISE_UPSTASH_TOKEN (never on the command line)",
            )
        })?;
        Target::Rest { url: url.clone(), token }
    } else {
        return Err(Fail::new(
            ErrorCode::Invalid,
            "no Redis configured: pass --redis-url (or set SEATWISE_REDIS_URL), --cluster for a Redis Cluster, or --upstash-url (SEATWISE_UPSTASH_URL, with SEATWISE_UPSTASH_TOKEN) for Upstash over REST; `seatwise demo` runs a local sandbox",
        ));
    };
    Ok(Engine::new(Redis::connect(&options(c, target)?).await?))
}

/// A password given with --redis-url or --cluster on the command line is visible to every user of the
/// machine (`ps`) and kept in shell history: say so, and point to the environment variable.
pub(crate) fn warn_if_password_on_command_line(c: &ConnArgs) {
    let typed = |flag: &str| std::env::args().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    // Credentials in a Redis URL stand before an '@'.
    let has_password = |text: &str| text.contains('@');
    for (flag, var, value) in [
        ("--redis-url", "SEATWISE_REDIS_URL", c.redis_url.as_deref()),
        ("--cluster", "SEATWISE_REDIS_CLUSTER", c.cluster.as_deref()),
    ] {
        if let Some(v) = value
            && typed(flag)
            && has_password(v)
        {
            eprintln!(
                "seatwise: warning: the credentials given with {flag} are visible to other users of this machine (ps) and stay in your shell history; set {var} instead"
            );
        }
    }
}

pub(crate) fn no_ably() -> Fail {
    Fail::new(ErrorCode::Invalid, "Ably is not configured: set SEATWISE_ABLY_KEY to the API key (appId.keyId:secret)")
}

/// The Ably client from SEATWISE_ABLY_KEY (None when it is not set).
pub(crate) fn ably_client(c: &ConnArgs) -> Result<Option<Arc<AblyRest>>, Fail> {
    let Ok(key) = std::env::var("SEATWISE_ABLY_KEY") else { return Ok(None) };
    let mut o = AblyOptions::new(&key, &format!("seatwise-cli/{}", env!("CARGO_PKG_VERSION")));
    o.endpoint = c.ably_endpoint.clone();
    o.max_rps = c.ably_max_rps;
    if let Some(p) = &c.ably_ca {
        o.ca_pem = Some(
            std::fs::read(p)
                .map_err(|e| Fail::new(ErrorCode::File, format!("--ably-ca: cannot read {}: {e}", p.display())))?,
        );
    }
    Ok(Some(o.build().map_err(|e| {
        Fail::new(ErrorCode::Invalid, format!("SEATWISE_ABLY_KEY / --ably-endpoint / --ably-max-rps: {e}"))
    })?))
}

pub(crate) fn consumer_name() -> String {
    let a = Actor::current();
    format!("{}-{}", a.host, std::process::id())
}
