//! The transport seam: everything the engine sends to Redis goes through [`Redis`]. It speaks the native
//! protocol to one node (`redis://`, `rediss://`) or to a Redis Cluster, and Upstash's REST API (`rest.rs`)
//! as a third variant behind the same calls. Connection errors become clear [`Error`]s that name the host and
//! port, never the URL with its password.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisResult, Value};

use crate::error::{Error, Result};

/// Where Redis is.
#[derive(Clone)]
pub enum Target {
    /// `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS.
    Url(String),
    /// One or more seed nodes of a Redis Cluster (each a `redis://` or `rediss://` URL).
    Cluster(Vec<String>),
    /// Upstash's REST API: the database's REST URL and its token (a secret).
    Rest { url: String, token: String },
}

impl std::fmt::Debug for Target {
    // Debug never shows a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Url(u) => write!(f, "Url({})", redact(u)),
            Target::Cluster(n) => write!(f, "Cluster({})", n.iter().map(|u| redact(u)).collect::<Vec<_>>().join(",")),
            Target::Rest { url, .. } => write!(f, "Rest({}, token <redacted>)", redact(url)),
        }
    }
}

impl Target {
    /// Checks the target offline (no network): each URL parses as redis:// or rediss://.
    pub fn validate(&self) -> Result<()> {
        let urls: Vec<&String> = match self {
            Target::Rest { url, token } => {
                let ok_url = (url.starts_with("https://") || url.starts_with("http://"))
                    && !redact(url).ends_with("://")
                    && !url.contains(['@', '?', '#']);
                if !ok_url {
                    return Err(Error::invalid(
                        "REST URL",
                        &redact(url),
                        "use the database's REST URL as the Upstash console shows it: https://... (no credentials, query or fragment in it)",
                    ));
                }
                if url.starts_with("http://") && !seatwise_ably::is_loopback_host(&url_host(url)) {
                    return Err(Error::invalid(
                        "REST URL",
                        &redact(url),
                        "plain http:// is allowed only for a server on this machine (localhost, 127.0.0.1, [::1]): use https://",
                    ));
                }
                if token.trim().is_empty() || token.chars().any(char::is_whitespace) {
                    return Err(Error::invalid(
                        "REST token",
                        "",
                        "paste the database's REST token (one word, no spaces)",
                    ));
                }
                return Ok(());
            }
            Target::Url(u) => vec![u],
            Target::Cluster(n) if n.is_empty() => {
                return Err(Error::Cluster("name at least one seed node, e.g. redis://10.0.0.5:6379".into()));
            }
            Target::Cluster(n) => n.iter().collect(),
        };
        for u in urls {
            let ok = (u.starts_with("redis://") || u.starts_with("rediss://"))
                && redis::Client::open(u.as_str()).is_ok()
                && !redact(u).ends_with("://");
            if !ok {
                return Err(Error::invalid("Redis URL", &redact(u), URL_RULE));
            }
        }
        Ok(())
    }
}

/// The rules of the Redis ACL user for a watch-only profile (docs/PROTOCOL.md, "Watch-only access"): read
/// seatwise keys and run read-only scripts, nothing else. A Redis admin runs
/// `ACL SETUSER <name> >'<password>' ` followed by these.
/// What a Redis URL looks like, and the trap in it: a password pasted raw often contains a character that
/// ends the password part of a URL (the shown URL is redacted, so it looks fine).
const URL_RULE: &str = "use redis://[user:password@]host[:port][/db], or rediss:// for TLS. In a URL, the characters / ? # @ : % in a user name or password must be percent-encoded (/ is %2F, ? is %3F, # is %23, @ is %40, : is %3A, % is %25); the console's password field does it for you";

pub const WATCH_ONLY_ACL: &[&str] = &[
    "on",
    "resetkeys",
    "%R~seatwise:*",
    "resetchannels",
    "-@all",
    "+@read",
    "+@connection",
    "+evalsha_ro",
    "+eval_ro",
];

/// TLS beyond the defaults. Without a CA, server certificates are verified against the operating system's
/// trust store (so a CA the venue's IT installed on the machine just works); with one, against the CA
/// bundle given (one or more PEM certificates). A client certificate and key are for servers that
/// require them (`tls-auth-clients yes`, Redis Enterprise, some managed services). The key is a secret:
/// never printed, never logged.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM: the CA certificate(s) to trust instead of the system store.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM: the client certificate (chain).
    pub client_cert_pem: Option<Vec<u8>>,
    /// PEM: the client certificate's private key.
    pub client_key_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca", &self.ca_pem.is_some())
            .field("client_cert", &self.client_cert_pem.is_some())
            .field("client_key", &self.client_key_pem.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl TlsOptions {
    pub fn is_default(&self) -> bool {
        self.ca_pem.is_none() && self.client_cert_pem.is_none() && self.client_key_pem.is_none()
    }

    /// Checks the PEM texts before any connection: each must hold what it is for.
    pub fn validate(&self) -> Result<()> {
        let has = |pem: &[u8], tag: &str| String::from_utf8_lossy(pem).contains(&format!("-----BEGIN {tag}"));
        if let Some(ca) = &self.ca_pem
            && !has(ca, "CERTIFICATE-----")
        {
            return Err(Error::invalid(
                "CA certificate",
                "(the given text)",
                "give a PEM file with one or more -----BEGIN CERTIFICATE----- blocks",
            ));
        }
        match (&self.client_cert_pem, &self.client_key_pem) {
            (None, None) => {}
            (Some(c), Some(k)) => {
                if !has(c, "CERTIFICATE-----") {
                    return Err(Error::invalid(
                        "client certificate",
                        "(the given text)",
                        "give a PEM file with a -----BEGIN CERTIFICATE----- block",
                    ));
                }
                if !has(k, "PRIVATE KEY-----") && !has(k, "RSA PRIVATE KEY-----") && !has(k, "EC PRIVATE KEY-----") {
                    return Err(Error::invalid(
                        "client key",
                        "(not shown)",
                        "give the private key (PEM, a BEGIN PRIVATE KEY block) that goes with the client certificate",
                    ));
                }
            }
            _ => {
                return Err(Error::invalid(
                    "client certificate",
                    "(incomplete)",
                    "a client certificate needs its private key, and a key its certificate: give both or neither",
                ));
            }
        }
        Ok(())
    }

    fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: match (&self.client_cert_pem, &self.client_key_pem) {
                (Some(c), Some(k)) => Some(redis::ClientTlsConfig { client_cert: c.clone(), client_key: k.clone() }),
                _ => None,
            },
            root_cert: self.ca_pem.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub target: Target,
    /// CA and client certificate for `rediss://` servers and HTTPS REST URLs.
    pub tls: TlsOptions,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// A watch-only connection (a Redis ACL user limited to reads, Upstash's read-only token): the monitor
    /// uses the read-only stats script (EVALSHA_RO); any change is refused by Redis (`Error::ReadOnly`).
    pub watch_only: bool,
}

impl ConnectOptions {
    pub fn new(target: Target) -> Self {
        ConnectOptions {
            target,
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(5),
            watch_only: false,
        }
    }
}

/// `scheme://host:port` of a Redis URL: what error messages and logs may show.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("redis", url));
    // Everything up to the last '@' is credentials, even when an unencoded password holds '/' or '?'.
    let after = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = after.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{host}")
}

/// The password of a Redis URL, if any, so that it can be scrubbed from any message that might echo it.
fn password_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.rsplit_once('@')?.0;
    let pw = userinfo.split_once(':').map_or(userinfo, |(_, p)| p);
    (!pw.is_empty()).then(|| pw.to_string())
}

#[derive(Clone)]
enum Inner {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Rest(crate::rest::RestConn),
}

/// One reconnecting connection handle, cheap to clone and shared by every operation.
#[derive(Clone)]
pub struct Redis {
    inner: Inner,
    label: Arc<str>,
    secrets: Arc<[String]>,
    timeout: Duration,
    round_trips: Arc<AtomicU64>,
    /// A cluster's slot ranges and their masters, read on first use and forgotten when a slot moves.
    slots: Arc<std::sync::Mutex<Option<Arc<SlotMap>>>>,
    watch_only: bool,
}

/// A cluster's slot ranges with the address of the master serving each: (first, last, "host:port").
type SlotMap = Vec<(u16, u16, String)>;

/// A Redis Cluster's seed list as typed: URLs separated by commas, spaces or new lines. A comma splits only
/// where the next URL starts (`,redis://` or `,rediss://`), so a password holding a comma stays whole (and
/// no error ever shows a fragment of one).
pub fn parse_seed_list(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let mut rest = word;
        loop {
            let next = ["redis://", "rediss://"]
                .iter()
                .filter_map(|s| rest.get(1..).and_then(|r| r.find(&format!(",{s}"))).map(|i| i + 1))
                .min();
            match next {
                Some(i) => {
                    out.push(rest[..i].to_string());
                    rest = &rest[i + 1..];
                }
                None => {
                    out.push(rest.to_string());
                    break;
                }
            }
        }
    }
    out.into_iter().map(|u| u.trim_matches(',').to_string()).filter(|u| !u.is_empty()).collect()
}

/// The host of a URL (`scheme://[user@]host[:port]/...`), lower-cased, without port or brackets' contents
/// changed: what a saved secret is bound to.
pub fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or(host_port)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    host.to_ascii_lowercase()
}

/// The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag (or of the whole key), mod 16384.
pub fn hash_slot(key: &str) -> u16 {
    let b = key.as_bytes();
    let tagged = b.iter().position(|&c| c == b'{').and_then(|s| {
        b[s + 1..].iter().position(|&c| c == b'}').filter(|&len| len > 0).map(|len| &b[s + 1..s + 1 + len])
    });
    let mut crc: u16 = 0;
    for &byte in tagged.unwrap_or(b) {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc % 16384
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redis({})", self.label)
    }
}

impl Redis {
    /// Connects and checks the connection with a PING, so that a bad host, password, TLS setup or
    /// cluster setup is reported here with a clear message rather than at the first operation.
    pub async fn connect(opts: &ConnectOptions) -> Result<Redis> {
        // rediss:// needs a process-wide rustls crypto provider; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (label, secrets, inner) = match &opts.target {
            Target::Url(url) => {
                let label = redact(url);
                let secrets: Vec<String> = password_of(url).into_iter().collect();
                opts.tls.validate()?;
                let bad_url = || Error::invalid("Redis URL", &label, URL_RULE);
                let client = if opts.tls.is_default() {
                    redis::Client::open(url.as_str()).map_err(|_| bad_url())?
                } else if !url.starts_with("rediss://") {
                    return Err(Error::invalid(
                        "Redis URL",
                        &label,
                        "a CA or client certificate is for TLS: use a rediss:// URL",
                    ));
                } else {
                    redis::Client::build_with_tls(url.as_str(), opts.tls.certificates()).map_err(|e| {
                        let e = e.to_string();
                        if e.contains("Redis URL") || e.contains("URL") {
                            bad_url()
                        } else {
                            tls_setup_error(&label, &e)
                        }
                    })?
                };
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(opts.connect_timeout))
                    .set_response_timeout(Some(opts.response_timeout))
                    .set_number_of_retries(2);
                let fut = ConnectionManager::new_with_config(client, cfg);
                let result = match tokio::time::timeout(opts.connect_timeout * 2, fut).await {
                    Ok(Ok(m)) => Ok(m),
                    Ok(Err(e)) => Err(classify(e, &label, &secrets, opts.connect_timeout)),
                    Err(_) => Err(Error::Timeout { target: label.clone(), millis: opts.connect_timeout.as_millis() }),
                };
                let mgr = match result {
                    Ok(m) => m,
                    // A TLS port drops a plain client's first command.
                    Err(Error::Unreachable { target, detail })
                        if url.starts_with("redis://") && {
                            let d = detail.to_lowercase();
                            d.contains("reset")
                                || d.contains("closed")
                                || d.contains("end of file")
                                || d.contains("broken pipe")
                        } =>
                    {
                        return Err(Error::Unreachable {
                            target,
                            detail: format!(
                                "{detail}: the server closed the connection at once; if this port expects TLS, connect with rediss:// instead"
                            ),
                        });
                    }
                    // A plain server never answers a TLS hello: say so rather than only "timed out".
                    Err(Error::Timeout { target, millis }) if url.starts_with("rediss://") => {
                        return Err(Error::Tls {
                            target,
                            detail: format!(
                                "no TLS handshake within {millis} ms; if the server does not use TLS, connect with redis:// instead"
                            ),
                        });
                    }
                    Err(e) => return Err(e),
                };
                (label, secrets, Inner::Single(mgr))
            }
            Target::Cluster(nodes) => {
                if nodes.is_empty() {
                    return Err(Error::Cluster(
                        "no seed nodes given: name at least one node as redis://host:port".into(),
                    ));
                }
                let label = format!("cluster {}", nodes.iter().map(|n| redact(n)).collect::<Vec<_>>().join(","));
                let secrets: Vec<String> = nodes.iter().filter_map(|n| password_of(n)).collect();
                opts.tls.validate()?;
                let mut builder = ClusterClient::builder(nodes.iter().map(|n| n.as_str()));
                if !opts.tls.is_default() {
                    builder = builder.certs(opts.tls.certificates());
                }
                let client = builder
                    .connection_timeout(opts.connect_timeout)
                    .response_timeout(opts.response_timeout)
                    // The driver would send a command again after an I/O error or a timeout, when the first
                    // may have run (a script applied twice): no driver retries. Redirects and TRYAGAIN, which
                    // mean the command did not run, are followed by `cluster_send`.
                    .retries(0)
                    .build()
                    .map_err(|e| Error::Cluster(scrub(&e.to_string(), &secrets)))?;
                let conn = match tokio::time::timeout(opts.connect_timeout * 2, client.get_async_connection()).await {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => {
                        return Err(cluster_connect_error(e, &label, &secrets, opts.connect_timeout));
                    }
                    Err(_) => {
                        return Err(Error::Timeout { target: label, millis: opts.connect_timeout.as_millis() });
                    }
                };
                (label, secrets, Inner::Cluster(conn))
            }
            Target::Rest { url, token } => {
                opts.target.validate()?;
                let label = redact(url);
                opts.tls.validate()?;
                let conn = crate::rest::RestConn::new(url, token, opts.response_timeout, &opts.tls)
                    .map_err(|e| tls_setup_error(&label, &e))?;
                (label, vec![token.clone()], Inner::Rest(conn))
            }
        };
        let redis = Redis {
            inner,
            label: label.into(),
            secrets: secrets.into(),
            timeout: opts.response_timeout,
            round_trips: Arc::new(AtomicU64::new(0)),
            slots: Default::default(),
            watch_only: opts.watch_only,
        };
        let pong: String = redis.query(&redis::cmd("PING")).await?;
        if pong != "PONG" {
            return Err(Error::Redis(format!("unexpected answer to PING: {pong}")));
        }
        Ok(redis)
    }

    /// `scheme://host:port` (or the cluster's seed nodes): safe to show.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether this connection only watches (see [`ConnectOptions::watch_only`]).
    pub fn watch_only(&self) -> bool {
        self.watch_only
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self.inner, Inner::Cluster(_))
    }

    /// How many requests (single commands or whole pipelines) this handle has sent: a pipeline is one
    /// round trip (on a cluster, one per node it touches, sent in parallel).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    pub(crate) async fn raw<T: FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        match &self.inner {
            Inner::Single(c) => cmd.query_async(&mut c.clone()).await,
            Inner::Cluster(c) => T::from_redis_value(cluster_send(c, cmd).await?).map_err(Into::into),
            Inner::Rest(r) => T::from_redis_value(r.command(cmd).await?).map_err(Into::into),
        }
    }

    /// Sends many commands at once; each answer (or error, as `Value::ServerError`) comes back in order.
    /// `slot_keys[i]` is a key of command i. On one node this is one pipeline; on a cluster the commands
    /// are grouped by the node that owns their slot and each node gets one pipeline, all sent in parallel
    /// (counted as one round trip: the wait is that of the slowest node).
    pub(crate) async fn pipeline(&self, cmds: Vec<Cmd>, slot_keys: &[&str]) -> RedisResult<Vec<Value>> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        match &self.inner {
            Inner::Single(c) => {
                let mut pipe = Pipeline::new();
                pipe.ignore_errors();
                for cmd in cmds {
                    pipe.add_command(cmd);
                }
                pipe.query_async(&mut c.clone()).await
            }
            Inner::Cluster(c) => self.cluster_pipeline(c, cmds, slot_keys).await,
            Inner::Rest(r) => r.pipeline(&cmds).await,
        }
    }

    async fn slot_map(&self, c: &ClusterConnection) -> RedisResult<Arc<SlotMap>> {
        if let Some(m) = self.slots.lock().expect("not poisoned").clone() {
            return Ok(m);
        }
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let raw: Vec<Value> = redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut c.clone()).await?;
        let mut map = Vec::new();
        for range in raw {
            let Value::Array(items) = range else { continue };
            let (Some(Value::Int(a)), Some(Value::Int(b)), Some(Value::Array(node))) =
                (items.first(), items.get(1), items.get(2))
            else {
                continue;
            };
            let addr = match (node.first(), node.get(1)) {
                (Some(Value::BulkString(h)), Some(Value::Int(p))) => {
                    format!("{}:{p}", String::from_utf8_lossy(h))
                }
                _ => continue,
            };
            map.push((*a as u16, *b as u16, addr));
        }
        let map = Arc::new(map);
        *self.slots.lock().expect("not poisoned") = Some(map.clone());
        Ok(map)
    }

    async fn cluster_pipeline(
        &self,
        c: &ClusterConnection,
        cmds: Vec<Cmd>,
        slot_keys: &[&str],
    ) -> RedisResult<Vec<Value>> {
        use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
        let map = self.slot_map(c).await?;
        // node address -> (a slot it owns, indices of the commands for it)
        let mut groups: std::collections::BTreeMap<String, (u16, Vec<usize>)> = Default::default();
        for (i, key) in slot_keys.iter().enumerate() {
            let slot = hash_slot(key);
            let node = map.iter().find(|(a, b, _)| (*a..=*b).contains(&slot)).map_or("?".to_string(), |r| r.2.clone());
            groups.entry(node).or_insert((slot, Vec::new())).1.push(i);
        }
        let mut cmds: Vec<Option<Cmd>> = cmds.into_iter().map(Some).collect();
        let sends = groups.into_values().map(|(slot, idx)| {
            let mut pipe = Pipeline::new();
            pipe.ignore_errors();
            for &i in &idx {
                pipe.add_command(cmds[i].take().expect("each command sent once"));
            }
            let n = idx.len();
            let mut conn = c.clone();
            async move {
                let route = SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master));
                (idx, conn.route_pipeline(pipe, 0, n, route).await)
            }
        });
        let mut out = vec![Value::Nil; slot_keys.len()];
        let mut stale = false;
        for (idx, result) in futures::future::join_all(sends).await {
            match result {
                Ok(values) => {
                    for (i, v) in idx.into_iter().zip(values) {
                        if let Value::ServerError(e) = &v {
                            stale |= matches!(
                                e.kind(),
                                Some(redis::ServerErrorKind::Moved) | Some(redis::ServerErrorKind::Ask)
                            );
                        }
                        out[i] = v;
                    }
                }
                Err(e) => {
                    *self.slots.lock().expect("not poisoned") = None;
                    return Err(e);
                }
            }
        }
        if stale {
            // The slots moved since the map was read: forget it; callers see the MOVED answers as errors
            // for those commands and the next call reads the new map.
            *self.slots.lock().expect("not poisoned") = None;
        }
        Ok(out)
    }

    /// Sends one command.
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.raw(cmd).await.map_err(|e| self.error(e))
    }

    /// Turns a driver error into an engine error that names this connection safely.
    pub(crate) fn error(&self, e: RedisError) -> Error {
        classify(e, &self.label, &self.secrets, self.timeout)
    }
}

/// Sends one command to a cluster, following what says it did not run: MOVED (the slot has a new master:
/// the driver re-reads the slots; sent again), ASK (the slot is migrating: sent to the named node after
/// ASKING), TRYAGAIN (a multi-key command during a migration), CLUSTERDOWN and LOADING (waited out, up to
/// about 3 s). Anything else, an I/O error or a timeout above all, is returned: the command may have run,
/// so it is never sent again.
async fn cluster_send(c: &ClusterConnection, cmd: &Cmd) -> RedisResult<Value> {
    use redis::ServerErrorKind as S;
    use redis::cluster_routing::SingleNodeRoutingInfo;
    let mut wait = Duration::from_millis(25);
    let mut waited = Duration::ZERO;
    let mut ask: Option<(String, u16)> = None;
    loop {
        let result = match ask.take() {
            None => cmd.query_async::<Value>(&mut c.clone()).await,
            Some((host, port)) => {
                let mut pipe = Pipeline::new();
                pipe.add_command(redis::cmd("ASKING")).add_command(cmd.clone());
                let route = SingleNodeRoutingInfo::ByAddress { host, port };
                c.clone().route_pipeline(pipe, 0, 2, route).await.map(|mut v| v.pop().unwrap_or(Value::Nil))
            }
        };
        let e = match result {
            Ok(Value::ServerError(e)) => RedisError::from(e),
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        match e.kind() {
            ErrorKind::Server(S::Ask) => {
                ask = e.redirect_node().and_then(|(addr, _)| {
                    let (h, p) = addr.rsplit_once(':')?;
                    Some((h.to_string(), p.parse().ok()?))
                });
                if ask.is_none() {
                    return Err(e);
                }
            }
            ErrorKind::Server(S::Moved | S::TryAgain | S::ClusterDown | S::BusyLoading) => {}
            _ => return Err(e),
        }
        if waited >= Duration::from_secs(3) {
            return Err(e);
        }
        tokio::time::sleep(wait).await;
        waited += wait;
        wait = (wait * 2).min(Duration::from_millis(400));
    }
}

/// A TLS failure in words that say what to do. rustls names the cause (`UnknownIssuer`,
/// `NotValidForName`, `Expired…`, an alert from the server); the advice follows from it.
pub(crate) fn tls_advice(target: &str, detail: &str) -> String {
    let d = detail;
    let host = target.split("://").nth(1).unwrap_or(target).rsplit_once(':').map_or(target, |(h, _)| h);
    if d.contains("UnknownIssuer") || d.contains("unknown issuer") || d.contains("UnknownCA") {
        return format!(
            "the server's certificate is signed by a certificate authority this machine does not trust ({d}); give that CA's certificate (CLI: --tls-ca or SEATWISE_TLS_CA; console: the profile's CA certificate), or install it in the system's trust store"
        );
    }
    if d.contains("NotValidForName") || d.contains("not valid for name") {
        return format!(
            "the server's certificate does not name the host {host} that was used ({d}); connect with a host name the certificate lists"
        );
    }
    if d.contains("Expired") || d.contains("expired") || d.contains("NotValidYet") || d.contains("not valid yet") {
        return format!(
            "the server's certificate is outside its validity dates ({d}); the server needs a current certificate (or this machine's clock is wrong)"
        );
    }
    if d.contains("CertificateRequired") || d.contains("certificate required") || d.contains("HandshakeFailure") {
        return format!(
            "the server wants a client certificate ({d}); give one with its key (CLI: --tls-cert and --tls-key; console: the profile's client certificate and key)"
        );
    }
    if d.contains("BadCertificate") || d.contains("UnknownCA") || d.contains("DecryptError") {
        return format!(
            "the server refused this client certificate ({d}); check it was issued by a CA the server trusts"
        );
    }
    d.to_string()
}

fn tls_setup_error(label: &str, detail: &str) -> Error {
    Error::Tls { target: label.to_string(), detail: format!("the TLS settings cannot be used: {detail}") }
}

fn scrub(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), "<redacted>"))
}

fn classify(e: RedisError, label: &str, secrets: &[String], timeout: Duration) -> Error {
    use redis::ServerErrorKind as S;
    let target = label.to_string();
    let text = scrub(&e.to_string(), secrets);
    let lower = text.to_lowercase();
    if e.kind() == ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS") | Some("NOAUTH"))
        || lower.contains("wrongpass")
        || lower.contains("noauth")
    {
        return Error::Auth { target };
    }
    if e.code() == Some("NOPERM") || lower.starts_with("noperm") || lower.contains("noperm") {
        return Error::ReadOnly { target };
    }
    if e.is_timeout() {
        return Error::Timeout { target, millis: timeout.as_millis() };
    }
    if lower.contains("tls") || lower.contains("certificate") || lower.contains("handshake") || lower.contains("rustls")
    {
        return Error::Tls { detail: tls_advice(&target, &text), target };
    }
    match e.kind() {
        ErrorKind::Server(S::Moved) | ErrorKind::Server(S::Ask) => {
            return Error::Cluster(format!(
                "{target} is a Redis Cluster node and answered MOVED: connect to it as a cluster (seed nodes), not as a single server"
            ));
        }
        ErrorKind::Server(S::CrossSlot) => {
            return Error::Cluster(format!(
                "a command touched keys in several slots ({text}): this is a bug, please report it"
            ));
        }
        ErrorKind::Server(S::ClusterDown) | ErrorKind::ClusterConnectionNotFound => {
            return Error::Cluster(format!("the cluster at {target} is not serving all slots: {text}"));
        }
        _ => {}
    }
    if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        return Error::Unreachable { target, detail: text };
    }
    Error::Redis(text)
}

fn cluster_connect_error(e: RedisError, label: &str, secrets: &[String], timeout: Duration) -> Error {
    let text = scrub(&e.to_string(), secrets).to_lowercase();
    if text.contains("cluster support disabled") || text.contains("cluster mode is not enabled") {
        return Error::Cluster(format!(
            "{label}: the node given is not in cluster mode; connect to it with a single redis:// URL instead"
        ));
    }
    match classify(e, label, secrets, timeout) {
        Error::Redis(detail) => Error::Cluster(format!("cannot use {label} as a cluster: {detail}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_list_splits_between_urls_only() {
        assert_eq!(
            parse_seed_list("redis://:p,w@h1:7000,redis://:p,w@h2:7001\n rediss://h3:7002,"),
            vec!["redis://:p,w@h1:7000", "redis://:p,w@h2:7001", "rediss://h3:7002"]
        );
        assert_eq!(parse_seed_list(" , "), Vec::<String>::new());
        // A seed with a comma in its password is refused whole, never shown in pieces.
        let e = Target::Cluster(parse_seed_list("redis://:sec,ret@h1:1, nonsense")).validate().unwrap_err();
        assert!(!e.to_string().contains("sec") && !e.to_string().contains("ret"), "{e}");
    }

    #[test]
    fn hash_slots_match_redis() {
        // Values from CLUSTER KEYSLOT.
        assert_eq!(hash_slot("foo"), 12182);
        assert_eq!(hash_slot("{user1000}.following"), hash_slot("{user1000}.followers"));
        assert_eq!(hash_slot("seatwise:queue:{s1:d1}"), hash_slot("s1:d1"));
        assert_eq!(hash_slot("foo{}{bar}"), hash_slot("foo{}{bar}"));
    }

    #[test]
    fn redaction_hides_credentials() {
        assert_eq!(redact("redis://:s3cret@db.example:6380/2"), "redis://db.example:6380");
        assert_eq!(redact("rediss://user:pa@ss@h:1"), "rediss://h:1");
        // An unencoded password with '/' or '?' in it is still hidden whole.
        assert_eq!(redact("redis://default:Ab3xQ/9z+k=@host:6380"), "redis://host:6380");
        assert_eq!(redact("redis://:a?b@host:1/0"), "redis://host:1");
        assert_eq!(password_of("redis://default:Ab3xQ/9z+k=@host:6380").as_deref(), Some("Ab3xQ/9z+k="));
        assert_eq!(password_of("redis://user:s3cret@h:1").as_deref(), Some("s3cret"));
        assert_eq!(password_of("redis://h:1"), None);
        let t = Target::Url("redis://:s3cret@h:1".into());
        assert!(!format!("{t:?}").contains("s3cret"));
    }
}
