//! The buyer gateway's figures (part of `seatwise-bench`, same redis-server and run): `seatwise serve` runs
//! as its own process (as deployed), the load comes from this process over HTTP/1.1 keep-alive, one
//! connection per simulated client.
//! - HTTP join throughput at 50 and 500 clients, as ratios to redis-benchmark's minimal script and to the
//!   engine's direct join measured just before;
//! - join and status latency (p50/p99) at half the peak rate, open loop; status polls per second;
//! - the gateway's idle memory (RSS) and CPU;
//! - your-turn latency: `complete` → the next buyer's private "your turn" at the Ably stand-in, one worker.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use seatwise_ably::AblyRest;
use seatwise_ably_standin::StandIn;
use seatwise_engine::notify::{Worker, ticket_channel};
use seatwise_engine::{BuyerId, Engine, Scope, SeatId, Ticket};

const SERVICE_KEY: &str = "bench service key, thirty-two characters";

struct Gateway {
    child: Child,
    addr: String,
    /// The operators' listener (/metrics).
    metrics: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_gateway(redis_url: &str) -> Gateway {
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (addr, metrics) = (format!("127.0.0.1:{}", free()), format!("127.0.0.1:{}", free()));
    let exe = std::env::current_exe().unwrap().with_file_name("seatwise");
    let child = Command::new(&exe)
        .args(["serve", "--listen", &addr, "--metrics-listen", &metrics, "--join-per-ip", "0", "--join-per-buyer", "0"])
        .args(["--status-per-ip", "0", "--status-per-buyer", "0"])
        .env("SEATWISE_REDIS_URL", redis_url)
        .env("SEATWISE_SERVICE_KEY", SERVICE_KEY)
        .env("SEATWISE_GATEWAY_KEY", "bench gateway key of at least 32 characters")
        .env("SEATWISE_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (build it with cargo build --release -p seatwise-cli)", exe.display()));
    let gw = Gateway { child, addr, metrics };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&gw.addr).await.is_ok() {
            return gw;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway did not start on {}", gw.addr);
}

/// One keep-alive connection.
struct Conn {
    tx: http1::SendRequest<Full<Bytes>>,
}

impl Conn {
    async fn open(addr: &str) -> Conn {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (tx, conn) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        Conn { tx }
    }

    /// Sends one request for `buyer`; returns the status and body.
    async fn call(&mut self, method: &str, path: &str, buyer: &str) -> (u16, Bytes) {
        self.tx.ready().await.unwrap();
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "bench")
            .header("authorization", format!("Bearer {SERVICE_KEY}"))
            .header("x-seatwise-buyer", buyer)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let res = self.tx.send_request(req).await.unwrap();
        let status = res.status().as_u16();
        (status, res.into_body().collect().await.unwrap().to_bytes())
    }
}

impl Conn {
    /// A GET with these headers; returns the status.
    async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> u16 {
        self.tx.ready().await.unwrap();
        let mut req = Request::builder().method("GET").uri(path).header("host", "bench");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self.tx.send_request(req.body(Full::new(Bytes::new())).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        let _ = res.into_body().collect().await;
        status
    }
}

/// What the venue's door adds to each request of the protected site: one keep-alive connection (as a
/// proxy keeps to its auth service), `n` sequential `GET /v1/door` with an admitted buyer's pass (its
/// online check cached, as it is for every request but one a second), beside the same number of
/// `GET /healthz` (the HTTP path with no work) in the same run. Prints p50/p99/p99.9 of each.
pub async fn door(e: &Engine, n: usize) {
    use seatwise_engine::gate::{KeyRing, Pass};
    crate::open(e, &crate::show("door", 1, 1)).await;
    let sc = seatwise_engine::Scope::parse("door:d0").unwrap();
    let t = e.join(&sc, &seatwise_engine::BuyerId::new("door-buyer").unwrap()).await.unwrap();
    let keys = KeyRing::from_text("gateway key", "bench gateway key, 32 characters or more", "").unwrap();
    let door = seatwise_gateway::door::DoorConfig::parse(
        r#"{"protect": [{"path": "/book", "queue": "door:d0"}], "waitingRoom": "http://q.example",
            "site": "http://t.example", "whenUnavailable": "closed"}"#,
    )
    .unwrap();
    let cfg = seatwise_gateway::Config {
        limits: seatwise_gateway::Limits::OFF,
        gateway_keys: Some(keys.clone()),
        door: Some(Arc::new(door)),
        ..seatwise_gateway::Config::default()
    };
    let gw = Arc::new(seatwise_gateway::Gateway::new(e.clone(), None, cfg).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = seatwise_gateway::Running::start(listener, gw).await.unwrap();
    let addr = running.addr.to_string();
    let pass = Pass { scope: sc.to_string(), ticket: t.ticket, exp: t.expires_at_ms.unwrap(), kid: String::new() }
        .sign(&keys.derive("admission-pass"));
    let cookie = format!("seatwise_pass={pass}");
    let mut c = Conn::open(&addr).await;
    let door_headers = [("x-forwarded-uri", "/book/seats?row=A"), ("cookie", cookie.as_str())];
    assert_eq!(c.get("/v1/door", &door_headers).await, 200, "the bench's pass is let through");
    let mut measure = async |path: &str, headers: &[(&str, &str)]| {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            c.get(path, headers).await;
            v.push(t.elapsed().as_secs_f64() * 1e6);
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
        (q(0.5), q(0.99), q(0.999))
    };
    let base = measure("/healthz", &[]).await;
    let with = measure("/v1/door", &door_headers).await;
    println!("\n## The venue's door: {n} sequential requests on one keep-alive connection, in process");
    println!("GET /healthz (the HTTP path alone): p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs", base.0, base.1, base.2);
    println!(
        "GET /v1/door, an admitted pass (online check cached): p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs (goal: p99 under 2 ms)",
        with.0, with.1, with.2
    );
    running.stop().await;
}

const JOIN: &str = "/v1/queues/gw/d0/tickets";

/// Closed loop: `clients` connections, `n` joins in all. Returns joins/s.
async fn join_throughput(addr: &str, prefix: &str, clients: u64, n: u64) -> f64 {
    let mut conns = Vec::new();
    for _ in 0..clients {
        conns.push(Conn::open(addr).await);
    }
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (c, mut conn) in conns.into_iter().enumerate() {
        let prefix = prefix.to_string();
        set.spawn(async move {
            let mut i = c as u64;
            while i < n {
                let (s, body) = conn.call("POST", JOIN, &format!("{prefix}-{i}")).await;
                assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
                i += clients;
            }
        });
    }
    while set.join_next().await.is_some() {}
    n as f64 / start.elapsed().as_secs_f64()
}

/// Open loop at `rate` requests/s for `secs`: latencies in ms (sorted). `path_of(i)` gives request i's path
/// and buyer.
async fn open_loop(
    addr: &str,
    method: &'static str,
    rate: f64,
    secs: u64,
    path_of: Arc<dyn Fn(u64) -> (String, String) + Send + Sync>,
) -> Vec<f64> {
    let clients = 200u64;
    let next = Arc::new(AtomicU64::new(0));
    let total = (rate * secs as f64) as u64;
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (next, path_of) = (next.clone(), path_of.clone());
        let mut conn = Conn::open(addr).await;
        set.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return lat;
                }
                // Request i is due at i / rate: wait for it, then time it from when it was due.
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                let (path, buyer) = path_of(i);
                let (s, _) = conn.call(method, &path, &buyer).await;
                assert_eq!(s, 200);
                lat.push(due.elapsed().as_secs_f64() * 1000.0);
            }
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r.unwrap());
    }
    all.sort_by(f64::total_cmp);
    all
}

fn pct(v: &[f64], p: f64) -> f64 {
    v[((v.len() as f64 - 1.0) * p) as usize]
}

/// Resident memory (kB) and CPU ticks (user + system) of a process.
fn proc_figures(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap().trim().trim_end_matches(" kB");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    (rss.trim().parse().unwrap(), fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap())
}

/// The mean join batch size so far, from the gateway's own /metrics.
async fn batch_mean(addr: &str) -> f64 {
    let mut conn = Conn::open(addr).await;
    let (_, body) = conn.call("GET", "/metrics", "bench").await;
    let text = String::from_utf8_lossy(&body);
    let value = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(0.0)
    };
    value("seatwise_gateway_join_batch_size_sum ") / value("seatwise_gateway_join_batch_size_count ").max(1.0)
}

/// USER_HZ: the unit of /proc/<pid>/stat's CPU times (100 on Linux).
fn ticks_per_s() -> f64 {
    100.0
}

pub struct Baselines {
    pub redis_benchmark_50: f64,
    pub redis_benchmark_500: f64,
    pub direct_join_50: f64,
}

pub async fn run(e: &Engine, redis_url: &str, base: Baselines, joins: u64) {
    crate::open(e, &crate::show("gw", 1, 1)).await;
    let gw = start_gateway(redis_url).await;
    let pid = gw.child.id();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss, t0) = proc_figures(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (_, t1) = proc_figures(pid);
    let idle_cpu = (t1 - t0) as f64 / ticks_per_s() / 10.0 * 100.0;

    let (_, c0) = proc_figures(pid);
    let self0 = proc_figures(std::process::id()).1;
    let r0 = crate::redis_cpu(e.redis()).await;
    let j50 = join_throughput(&gw.addr, "h50", 50, joins).await;
    let (_, c1) = proc_figures(pid);
    let self1 = proc_figures(std::process::id()).1;
    let redis_us = (crate::redis_cpu(e.redis()).await - r0) / joins as f64 * 1e6;
    let j500 = join_throughput(&gw.addr, "h500", 500, joins).await;
    let (busy_rss, _) = proc_figures(pid);
    // Where the 2 cores went during the 50-client run, per join.
    let per_join = |ticks: u64| ticks as f64 / ticks_per_s() / joins as f64 * 1e6;
    println!("\n## Buyer gateway: `seatwise serve` as its own process, HTTP/1.1 keep-alive, {joins} joins per run");
    println!("redis-benchmark, minimal INCR+ZADD script, 50 clients:  {:>9.0} calls/s", base.redis_benchmark_50);
    println!("redis-benchmark, minimal INCR+ZADD script, 500 clients: {:>9.0} calls/s", base.redis_benchmark_500);
    println!("engine's direct join, 50 clients (one script per join): {:>9.0} joins/s", base.direct_join_50);
    println!(
        "HTTP join through the gateway, 50 clients:              {j50:>9.0} joins/s  ratio {:.2} to redis-benchmark, {:.2} to the direct join",
        j50 / base.redis_benchmark_50,
        j50 / base.direct_join_50
    );
    println!(
        "CPU per HTTP join (50 clients): gateway process {:.1} µs, load generator {:.1} µs, redis-server {redis_us:.1} µs (coalesced: {:.0} joins per script call on average)",
        per_join(c1 - c0),
        per_join(self1 - self0),
        batch_mean(&gw.metrics).await
    );
    println!(
        "HTTP join through the gateway, 500 clients:             {j500:>9.0} joins/s  ratio {:.2} to redis-benchmark (500), {:.2} to the direct join",
        j500 / base.redis_benchmark_500,
        j500 / base.direct_join_50
    );

    // Status polls of the tickets just issued (closed loop, 200 clients), then latency at half the peaks.
    let n = joins.min(50_000);
    let tickets: Arc<Vec<(String, String)>> = Arc::new({
        let scope = Scope::parse("gw:d0").unwrap();
        let mut v = Vec::new();
        for i in 0..n {
            let buyer = format!("h50-{i}");
            let s = e
                .join_with_proof(&scope, &BuyerId::new(&buyer).unwrap(), seatwise_engine::JoinProof::Trusted)
                .await
                .unwrap();
            v.push((format!("{JOIN}/{}", s.ticket), buyer));
        }
        v
    });
    let t = tickets.clone();
    let status_path: Arc<dyn Fn(u64) -> (String, String) + Send + Sync> =
        Arc::new(move |i| t[(i % t.len() as u64) as usize].clone());
    let peak_status = {
        let s = Instant::now();
        let count = Arc::new(AtomicU64::new(0));
        let mut set = tokio::task::JoinSet::new();
        for c in 0..200u64 {
            let (t, count) = (tickets.clone(), count.clone());
            let mut conn = Conn::open(&gw.addr).await;
            set.spawn(async move {
                let mut i = c;
                let until = Instant::now() + Duration::from_secs(5);
                while Instant::now() < until {
                    let (p, b) = &t[(i % t.len() as u64) as usize];
                    let (st, _) = conn.call("GET", p, b).await;
                    assert_eq!(st, 200);
                    count.fetch_add(1, Ordering::Relaxed);
                    i += 200;
                }
            });
        }
        while set.join_next().await.is_some() {}
        count.load(Ordering::Relaxed) as f64 / s.elapsed().as_secs_f64()
    };
    let half_join = j50.max(j500) / 2.0;
    let join_path: Arc<dyn Fn(u64) -> (String, String) + Send + Sync> =
        Arc::new(|i| (JOIN.to_string(), format!("lat-{i}")));
    let jl = open_loop(&gw.addr, "POST", half_join, 5, join_path).await;
    let sl = open_loop(&gw.addr, "GET", peak_status / 2.0, 5, status_path).await;
    println!("status polls sustained (200 clients, closed loop):     {peak_status:>9.0} polls/s");
    println!(
        "join at {half_join:.0}/s (half the peak), open loop:  p50 {:.2} ms  p99 {:.2} ms  ({} joins)",
        pct(&jl, 0.5),
        pct(&jl, 0.99),
        jl.len()
    );
    println!(
        "status at {:.0}/s (half the peak), open loop: p50 {:.2} ms  p99 {:.2} ms  ({} polls)",
        peak_status / 2.0,
        pct(&sl, 0.5),
        pct(&sl, 0.99),
        sl.len()
    );
    println!(
        "gateway idle: RSS {:.1} MiB, CPU {idle_cpu:.2}% of a core over 10 s; RSS after the load {:.1} MiB",
        rss as f64 / 1024.0,
        busy_rss as f64 / 1024.0
    );
}

/// `complete` frees a session → the next buyer's private "your turn" reaches the Ably stand-in, with one
/// worker running (its default pause between idle passes).
pub async fn your_turn(e: &Engine, ably: Arc<AblyRest>, standin: &StandIn, admissions: u64, idle: Duration) {
    // A hold names seats of the schedule's map: 60 rows of 200 (12 000 seats, one per admission).
    let mut show = crate::show("turn", 1, 1);
    let rows: Vec<String> = (0..60).map(|r| format!("R{r}")).collect();
    show.schedules[0].seat_map =
        Some(seatwise_engine::SeatMap { rows: rows.clone(), seats_per_row: 200, zones: Vec::new() });
    crate::open(e, &show).await;
    let scope = Scope::parse("turn:d0").unwrap();
    let mut tickets = Vec::new();
    for i in 0..=admissions {
        tickets.push(e.join(&scope, &BuyerId::new(&format!("t{i}")).unwrap()).await.unwrap().ticket);
    }
    let worker = Worker::start(e.clone(), Some(ably), "bench-turn", idle);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut lat = Vec::new();
    for i in 0..admissions as usize {
        let cur = Ticket::parse(&tickets[i]).unwrap();
        // The buyer admitted now holds a seat and books it; the next one is admitted in the same step.
        while e.status(&scope, &cur).await.unwrap().state != seatwise_engine::TicketState::Admitted {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let seat = SeatId::new(&format!("{}{}", rows[i / 200 % 60], i % 200 + 1)).unwrap();
        e.hold(&scope, &cur, &[seat]).await.unwrap();
        let channel = ticket_channel(&scope, &tickets[i + 1]);
        let t = Instant::now();
        e.complete(&scope, &cur).await.unwrap();
        while !standin.messages(&channel).iter().any(|m| m.name == "ticket.your_turn") {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    worker.stop().await;
    lat.sort_by(f64::total_cmp);
    println!(
        "\n## Your-turn latency ({admissions} admissions, one worker pausing {} ms between idle passes)",
        idle.as_millis()
    );
    println!(
        "complete → the next buyer's ticket.your_turn at Ably: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat[lat.len() - 1]
    );
}

/// Proof-of-work solve time on this machine, natively (one core; the waiting page's Web Worker, which
/// hashes with WebCrypto, is measured in the browser tests of the waiting page).
pub fn pow_solve_times() {
    use seatwise_engine::gate::{Challenge, KeyRing};
    let key = KeyRing::ephemeral();
    let scope = Scope::parse("gw:d0").unwrap();
    println!("\n## Proof of work: time to solve a challenge (native, one core; mean of 20 challenges)");
    for bits in [8u32, 12, 16, 18, 20] {
        let t = Instant::now();
        for i in 0..20 {
            let (_, text) = Challenge::issue(&key, &scope, bits, i);
            Challenge::solve(&text, bits);
        }
        println!("{bits:>2} bits (~{:>7} hashes): {:>8.1} ms", 1u64 << bits, t.elapsed().as_secs_f64() * 1000.0 / 20.0);
    }
}
