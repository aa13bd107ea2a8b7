//! The transport seam: everything the engine sends to Redis goes through [`Redis`]. It speaks the native
//! protocol to one node (`redis://`, `rediss://`) or to a Redis Cluster, and Upstash's REST API (`rest.rs`)
//! as a third variant behind the same calls. Connection errors become clear [`Error`]s that name the host and
//! port, never the URL with its password.
//!
//! - [`target`]: where Redis is (`Target`, `ConnectOptions`, URLs, the watch-only ACL);
//! - [`tls`]: `TlsOptions` and TLS advice; [`cluster`]: slots and sending to the right node;
//! - [`classify`]: connection errors in words.

mod classify;
mod cluster;
mod target;
mod tls;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisResult, Value};

use crate::error::{Error, Result};

use self::classify::*;
pub use self::cluster::hash_slot;
use self::cluster::*;
use self::target::*;
pub use self::target::{ConnectOptions, Target, WATCH_ONLY_ACL, parse_seed_list, redact, url_host};
pub use self::tls::TlsOptions;
use self::tls::*;

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
                    Ok(Err(e)) => Err(classify(e, &label, &secrets, opts.connect_timeout, false)),
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
                    // Only this node's commands failed (a node down or failing over): the others' answers
                    // stand, so one queue's outage never takes down the figures of the rest. Its commands
                    // answer TRYAGAIN (they may be sent again once the slot has a master).
                    *self.slots.lock().expect("not poisoned") = None;
                    let _ = e; // the node's own error says less than TRYAGAIN to the callers
                    let failed = redis::parse_redis_value(b"-TRYAGAIN the node serving this slot did not answer\r\n")
                        .unwrap_or(Value::Nil);
                    for i in idx {
                        out[i] = failed.clone();
                    }
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
        classify(e, &self.label, &self.secrets, self.timeout, matches!(self.inner, Inner::Cluster(_)))
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
