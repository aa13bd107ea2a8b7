//! A local redis-server on a free port (and a local 3-node Redis Cluster): the embedded default when no
//! Redis is configured, and the harness of the tests and benchmarks. Servers are killed and reaped on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

const INSTALL_HINT: &str = "install it with `apt-get install redis-server` (scripts/setup.sh does this)";

/// A redis-server child process bound to 127.0.0.1 on a port nobody else was using.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    tls_port: Option<u16>,
    password: Option<String>,
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

/// How to start a local server.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Keep data here (snapshots every minute and on shutdown); None = a temporary folder, no persistence.
    pub data_dir: Option<PathBuf>,
    /// Start the node in cluster mode (see [`RedisCluster`]).
    pub cluster: bool,
    /// Listen on this port (None: a free one).
    pub port: Option<u16>,
    /// Require this password (the local sandbox: other users of the machine must not reach its data). It
    /// is given to redis-server on its standard input, never on its command line (which `ps` shows).
    pub password: Option<String>,
    /// Also listen for TLS (on a second free port; the plain port stays, for setup and health checks).
    pub tls: Option<ServerTls>,
    /// Keep an append-only file written on every change (`appendfsync always`), so a crash loses nothing
    /// acknowledged (needs `data_dir` to survive a restart).
    pub appendonly: bool,
    /// In cluster mode: how long a node may be silent before it is failed over (default 5000 ms).
    pub cluster_node_timeout_ms: Option<u64>,
}

/// A TLS listener's files (PEM).
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The CA that client certificates must chain to (and that the cluster bus uses).
    pub ca_file: PathBuf,
    /// Require a client certificate (`tls-auth-clients yes`).
    pub require_client_cert: bool,
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Redis(format!("no free local port: {e}")))?;
    Ok(l.local_addr().map_err(|e| Error::Redis(e.to_string()))?.port())
}

/// `AUTH` for a password-protected server, as an inline command (the password is hex, no spaces).
fn auth_line(password: Option<&str>) -> String {
    password.map(|p| format!("AUTH {p}\r\n")).unwrap_or_default()
}

fn ping(port: u16, password: Option<&str>) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 64];
    let ask = format!("{}PING\r\n", auth_line(password));
    if s.write_all(ask.as_bytes()).is_err() {
        return false;
    }
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("PONG") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        if got.len() > 512 {
            break;
        }
    }
    String::from_utf8_lossy(&got).contains("+PONG")
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

impl RedisServer {
    pub fn start(opts: &ServerOptions) -> Result<RedisServer> {
        let (dir, temp) = match &opts.data_dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .map_err(|e| Error::File { path: d.display().to_string(), detail: e.to_string() })?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("seatwise-redis-")
                    .tempdir()
                    .map_err(|e| Error::Redis(format!("cannot make a temporary folder: {e}")))?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let mut last = String::new();
        for _ in 0..5 {
            let port = match opts.port {
                Some(p) => p,
                None => free_port()?,
            };
            let log = dir.join(format!("redis-{port}.log"));
            let mut cmd = Command::new("redis-server");
            // `-`: the rest of the configuration (the password) comes on standard input.
            if opts.password.is_some() {
                cmd.arg("-");
            }
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir)
                .arg("--logfile")
                .arg(&log)
                .args(["--appendonly", if opts.appendonly { "yes" } else { "no" }]);
            if opts.appendonly {
                cmd.args(["--appendfsync", "always"]);
            }
            let tls_port = match &opts.tls {
                Some(t) => {
                    let tp = free_port()?;
                    cmd.args(["--tls-port", &tp.to_string()])
                        .arg("--tls-cert-file")
                        .arg(&t.cert_file)
                        .arg("--tls-key-file")
                        .arg(&t.key_file)
                        .arg("--tls-ca-cert-file")
                        .arg(&t.ca_file)
                        .args(["--tls-auth-clients", if t.require_client_cert { "yes" } else { "no" }]);
                    if opts.cluster {
                        cmd.args(["--tls-cluster", "yes"]);
                    }
                    Some(tp)
                }
                None => None,
            };
            if opts.data_dir.is_some() {
                cmd.args(["--save", "60 1", "--dbfilename", "seatwise.rdb"]);
            } else {
                cmd.args(["--save", ""]);
            }
            if opts.cluster {
                let timeout = opts.cluster_node_timeout_ms.unwrap_or(5000).to_string();
                cmd.args(["--cluster-enabled", "yes", "--cluster-node-timeout", &timeout])
                    .arg("--cluster-config-file")
                    .arg(dir.join(format!("nodes-{port}.conf")));
            }
            let stdin = if opts.password.is_some() { Stdio::piped() } else { Stdio::null() };
            let child = cmd.stdin(stdin).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::Redis(format!("redis-server was not found on PATH: {INSTALL_HINT}")));
                }
                Err(e) => return Err(Error::Redis(format!("cannot start redis-server: {e}"))),
            };
            if let (Some(pw), Some(mut input)) = (&opts.password, child.stdin.take()) {
                let _ = input.write_all(format!("requirepass {pw}\n").as_bytes());
                // Dropping the pipe ends the configuration.
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if ping(port, opts.password.as_deref()) {
                    return Ok(RedisServer {
                        child: Some(child),
                        port,
                        tls_port,
                        password: opts.password.clone(),
                        dir,
                        _temp: temp,
                    });
                }
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!("redis-server exited ({status}): {}", tail(&log, 5));
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            if last.is_empty() {
                last = format!("redis-server did not answer PING within 10 s: {}", tail(&log, 5));
            }
        }
        Err(Error::Redis(last))
    }

    /// The server's process id (for a test that pauses or kills it as a fault would).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The TLS port, when started with [`ServerOptions::tls`].
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to connect with (with the password, when the server has one).
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// `redis://127.0.0.1:<port>`: what to show (never the password).
    pub fn label(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Asks the server to save (when it has a data dir) and exit, then reaps it.
    /// Kills the server at once (SIGKILL), as a crash would: only what its append-only file holds survives.
    pub fn kill(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn shutdown(mut self) {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = s.write_all(format!("{}SHUTDOWN\r\n", auth_line(self.password.as_deref())).as_bytes());
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
        }
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The last lines of the server's log (shown when a test fails).
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.join(format!("redis-{}.log", self.port)), lines)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A Redis Cluster of `n` masters (no replicas) on free local ports.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

fn redis_cli(args: &[String]) -> Result<String> {
    let out = Command::new("redis-cli")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Redis(format!("cannot run redis-cli ({e}): {INSTALL_HINT}")))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(Error::Cluster(format!("redis-cli {}: {text}", args.join(" "))));
    }
    Ok(text)
}

impl RedisCluster {
    pub fn start(n: usize) -> Result<RedisCluster> {
        Self::start_with(n, None)
    }

    /// A cluster whose nodes also listen for TLS and talk TLS on the cluster bus (`tls-cluster yes`; the
    /// certificate must serve both as server and client certificate). Seeds: [`RedisCluster::tls_urls`].
    pub fn start_with(n: usize, tls: Option<ServerTls>) -> Result<RedisCluster> {
        Self::create(n, 0, ServerOptions { cluster: true, tls, ..Default::default() })
    }

    /// `masters` masters with one replica each (`cluster-replicas 1`), failing a silent master over after
    /// `node_timeout_ms`: what a fault test kills a master of.
    pub fn start_with_replicas(masters: usize, node_timeout_ms: u64) -> Result<RedisCluster> {
        let opts =
            ServerOptions { cluster: true, cluster_node_timeout_ms: Some(node_timeout_ms), ..Default::default() };
        let c = Self::create(masters * 2, 1, opts)?;
        // Every replica has synced with its master before anyone counts on it.
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in &c.nodes {
            loop {
                let info = redis_cli(&["-p".into(), node.port.to_string(), "info".into(), "replication".into()])?;
                if info.contains("role:master") || info.contains("master_link_status:up") {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Error::Cluster(format!("replica {} never synced: {info}", node.port)));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(c)
    }

    fn create(n: usize, replicas: usize, opts: ServerOptions) -> Result<RedisCluster> {
        let nodes = (0..n).map(|_| RedisServer::start(&opts)).collect::<Result<Vec<_>>>()?;
        let mut args = vec!["--cluster".to_string(), "create".to_string()];
        args.extend(nodes.iter().map(|s| format!("127.0.0.1:{}", s.port)));
        args.extend(["--cluster-replicas".to_string(), replicas.to_string(), "--cluster-yes".to_string()]);
        redis_cli(&args)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &nodes {
            loop {
                let info = redis_cli(&["-p".into(), node.port.to_string(), "cluster".into(), "info".into()])?;
                if info.contains("cluster_state:ok") {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Error::Cluster(format!("node {} never reached cluster_state:ok: {info}", node.port)));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(RedisCluster { nodes })
    }

    /// The seed node URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url()).collect()
    }

    /// The seed node URLs on the TLS ports (when started with TLS).
    pub fn tls_urls(&self) -> Vec<String> {
        self.nodes.iter().filter_map(|n| n.tls_port).map(|p| format!("rediss://127.0.0.1:{p}")).collect()
    }
}
