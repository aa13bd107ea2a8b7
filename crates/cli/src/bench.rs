//! `seatwise-bench`: the engine's benchmark program. It starts its own redis-server (or uses
//! --redis-url), runs each measurement in one run against that one server, and prints figures for
//! docs/PERFORMANCE.md:
//! - join throughput with 50 concurrent clients, against redis-benchmark running a minimal INCR+ZADD join
//!   script by EVALSHA at the same concurrency on the same server;
//! - Redis memory per waiting buyer at 1M buyers, every key included, and the slowest command meanwhile;
//! - monitoring 100 open schedules: round trips and time per refresh;
//! - the buyer gateway over HTTP and the your-turn latency (bench_gateway.rs).
//!
//! Why one file of ~500 lines: the measurements run in one order against one server and print one
//! report; the gateway's and the estimates' sections are `bench_gateway.rs` and `bench_estimate.rs`.

mod bench_estimate;
mod bench_gateway;
mod bench_polls;

use std::process::Command;
use std::time::{Duration, Instant};

use std::sync::Arc;

use clap::Parser;
use seatwise_ably::{AblyConfig, AblyRest, ApiKey, Endpoint, Message};
use seatwise_ably_standin::{Config as StandInConfig, StandIn};
use seatwise_engine::local::{RedisServer, ServerOptions};
use seatwise_engine::notify::{Notifier, Worker};
use seatwise_engine::{Actor, BuyerId, ConnectOptions, Engine, Redis, SchedId, Scope, ShowId, Target, Ticket};
use seatwise_engine::{Schedule, Show, ShowStatus};
use seatwise_upstash_standin::UpstashStandIn;

#[derive(Parser)]
#[command(about = "Benchmarks of the Seatwise queue engine (prints figures)")]
struct Args {
    /// Joins per throughput run.
    #[arg(long, default_value_t = 200_000)]
    joins: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    clients: u64,
    /// Waiting buyers for the memory figure.
    #[arg(long, default_value_t = 1_000_000)]
    buyers: u64,
    /// Schedules for the monitoring figure.
    #[arg(long, default_value_t = 100)]
    schedules: usize,
    /// Waiting buyers of the queue closed through Ably.
    #[arg(long, default_value_t = 100_000)]
    close_buyers: u64,
    /// Latency the Ably stand-in adds to every request, in ms.
    #[arg(long, default_value_t = 50)]
    ably_latency_ms: u64,
    /// Concurrent batch requests to Ably while closing.
    #[arg(long, default_value_t = 16)]
    ably_concurrency: usize,
    /// Admissions timed from `complete` to the next buyer's "your turn" at Ably.
    #[arg(long, default_value_t = 1000)]
    admissions: u64,
    /// Only the join baselines and the buyer gateway's figures.
    #[arg(long)]
    gateway_only: bool,
    /// Only the wait estimates' simulated sale (about 4 minutes; not part of the full run).
    #[arg(long)]
    estimate_only: bool,
    /// Only the polling cost of `--buyers` waiting buyers, the previous poll rule beside today's.
    #[arg(long)]
    polls_only: bool,
    /// Only the latency the venue's door adds per request (forward-auth).
    #[arg(long)]
    door_only: bool,
}

fn show(id: &str, n: usize, capacity: u32) -> Show {
    let schedules = (0..n)
        .map(|i| Schedule {
            session_seconds: Some(3600.0),
            abandon_seconds: Some(3600.0),
            ..Schedule::new(SchedId::new(&format!("d{i}")).unwrap(), "2026-06-01T19:30", "UTC", capacity)
        })
        .collect();
    Show::draft(ShowId::new(id).unwrap(), "Bench Hall", schedules)
}

async fn open(e: &Engine, s: &Show) {
    let actor = Actor::new("bench", "bench");
    e.create_show(s, &actor).await.expect("create");
    e.update_show_status(&s.id, ShowStatus::Open, &actor, None).await.expect("open");
}

async fn info_int(r: &Redis, section: &str, field: &str) -> u64 {
    let text: String = r.query(redis::cmd("INFO").arg(section)).await.expect("INFO");
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().parse().unwrap_or(0))).unwrap_or(0)
}

/// Joins `n` buyers named `<prefix>-<i>` with `clients` concurrent tasks on the given engines
/// (one shared handle, or one per client). Returns joins per second.
async fn join_load(engines: &[Engine], sc: &Scope, prefix: &str, n: u64, clients: u64) -> f64 {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in 0..clients {
        let e = engines[(c as usize) % engines.len()].clone();
        let (sc, prefix) = (sc.clone(), prefix.to_string());
        set.spawn(async move {
            let mut i = c;
            while i < n {
                e.join(&sc, &BuyerId::new(&format!("{prefix}-{i}")).unwrap()).await.expect("join");
                i += clients;
            }
        });
    }
    while set.join_next().await.is_some() {}
    n as f64 / start.elapsed().as_secs_f64()
}

/// CPU seconds redis-server has used so far (user + system).
async fn redis_cpu(r: &Redis) -> f64 {
    let text: String = r.query(redis::cmd("INFO").arg("cpu")).await.expect("INFO cpu");
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| *k == "used_cpu_sys" || *k == "used_cpu_user")
        .map(|(_, v)| v.trim().parse::<f64>().unwrap_or(0.0))
        .sum()
}

fn redis_benchmark(port: u16, sha: &str, clients: u64, n: u64) -> f64 {
    let out = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-c", &clients.to_string(), "-n", &n.to_string(), "-r", "100000000", "-q"])
        .args(["EVALSHA", sha, "2", "bench:seq", "bench:zset", "member:__rand_int__"])
        .output()
        .expect("redis-benchmark is installed with redis-tools");
    let text = String::from_utf8_lossy(&out.stdout);
    // -q prints "...: 43103.45 requests per second, p50=..." (possibly after progress lines with \r).
    text.rsplit(':')
        .next()
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot read redis-benchmark's output: {text}"))
}

/// Prints how many slow script calls there were and the slowest one.
fn print_slow(label: &str, worst: &[(u64, String)]) {
    let slowest = worst.first().map_or(String::new(), |w| format!(" ({})", w.1));
    println!("{label}: {}; slowest {} µs{slowest}", worst.len(), worst.first().map_or(0, |w| w.0));
}

/// The engine's script calls in the slow log (microseconds, command), slowest first. The bench's own
/// diagnostics (INFO, KEYS, MEMORY) are left out.
async fn slow_scripts(r: &Redis) -> Vec<(u64, String)> {
    let slow: Vec<Vec<redis::Value>> = r.query(redis::cmd("SLOWLOG").arg("GET").arg(1000)).await.unwrap();
    // Only the engine's script calls count (the bench's own INFO/KEYS/MEMORY diagnostics are left out).
    let mut worst: Vec<(u64, String)> = slow
        .iter()
        .map(|e| {
            let us = match e.get(2) {
                Some(redis::Value::Int(n)) => *n as u64,
                _ => 0,
            };
            let cmd = match e.get(3) {
                Some(redis::Value::Array(a)) => a
                    .iter()
                    .take(1)
                    .map(|v| match v {
                        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                        _ => String::new(),
                    })
                    .collect(),
                _ => String::new(),
            };
            (us, cmd)
        })
        .filter(|(_, cmd)| cmd.starts_with("EVAL") || cmd.starts_with("evalsha") || cmd.starts_with("eval"))
        .collect();
    worst.sort_by(|a, b| b.cmp(a));
    worst
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let server = RedisServer::start(&ServerOptions::default()).expect("redis-server");
    let connect = || async { Redis::connect(&ConnectOptions::new(Target::Url(server.url()))).await.expect("connect") };
    let e = Engine::new(connect().await);
    let r = e.redis().clone();
    let version: String = {
        let text: String = r.query(redis::cmd("INFO").arg("server")).await.unwrap();
        text.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("?").trim().to_string()
    };
    println!(
        "seatwise-bench: redis-server {version} on 127.0.0.1:{}, {} cores",
        server.port(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    if args.estimate_only {
        bench_estimate::run(&e).await;
        return;
    }
    if args.door_only {
        bench_gateway::door(&e, 20_000).await;
        return;
    }
    if args.polls_only {
        bench_polls::run(&e, args.buyers, args.clients).await;
        return;
    }

    // 1. Join throughput.
    let minimal = "local s = redis.call('INCR', KEYS[1]) redis.call('ZADD', KEYS[2], s, ARGV[1]) return s";
    let sha: String = r.query(redis::cmd("SCRIPT").arg("LOAD").arg(minimal)).await.unwrap();
    let base = redis_benchmark(server.port(), &sha, args.clients, args.joins);
    open(&e, &show("tput", 3, 1)).await;
    let cpu0 = redis_cpu(&r).await;
    let t0 = Instant::now();
    let shared =
        join_load(std::slice::from_ref(&e), &Scope::parse("tput:d0").unwrap(), "s", args.joins, args.clients).await;
    let busy = (redis_cpu(&r).await - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    let mut many = Vec::new();
    for _ in 0..args.clients {
        many.push(Engine::new(connect().await));
    }
    let separate = join_load(&many, &Scope::parse("tput:d1").unwrap(), "m", args.joins, args.clients).await;
    drop(many);
    println!("\n## Join throughput ({} joins, {} concurrent clients)", args.joins, args.clients);
    println!("redis-benchmark, minimal INCR+ZADD script by EVALSHA: {base:>9.0} joins/s");
    println!(
        "seatwise join, one shared handle (the engine's design): {shared:>9.0} joins/s  ratio {:.2}  (redis-server busy {busy:.0}% of a core)",
        shared / base
    );
    println!(
        "seatwise join, {} separate connections:              {separate:>9.0} joins/s  ratio {:.2}",
        args.clients,
        separate / base
    );

    // 1b. The buyer gateway over HTTP, against the same baselines; then the your-turn latency.
    let base500 = redis_benchmark(server.port(), &sha, 500, args.joins);
    let baselines =
        bench_gateway::Baselines { redis_benchmark_50: base, redis_benchmark_500: base500, direct_join_50: shared };
    bench_gateway::run(&e, &server.url(), baselines, args.joins.min(100_000)).await;
    {
        let latency = Duration::from_millis(args.ably_latency_ms);
        let standin = StandIn::start(StandInConfig { latency, ..StandInConfig::default() }).await;
        let mut cfg = AblyConfig::new(ApiKey::parse(&standin.key()).unwrap());
        cfg.endpoint = Some(Endpoint::parse(&standin.url()).unwrap());
        let ably = Arc::new(AblyRest::new(cfg).unwrap());
        println!("(the Ably stand-in adds {} ms to every request)", args.ably_latency_ms);
        bench_gateway::your_turn(&e, ably, &standin, args.admissions, Duration::from_millis(250)).await;
    }
    bench_gateway::pow_solve_times();
    if args.gateway_only {
        return;
    }

    // 2. Memory per waiting buyer, and the slowest command while filling, ranking, admitting and closing.
    let _: String = r.query(&redis::cmd("FLUSHALL")).await.unwrap();
    let _: String = r.query(redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(1000)).await.unwrap();
    let _: String = r.query(redis::cmd("SLOWLOG").arg("RESET")).await.unwrap();
    open(&e, &show("mem", 1, 1)).await;
    let sc = Scope::new(ShowId::new("mem").unwrap(), SchedId::new("d0").unwrap());
    let first = e.join(&sc, &BuyerId::new("buyer-head").unwrap()).await.unwrap();
    let before = info_int(&r, "memory", "used_memory").await;
    let t = Instant::now();
    let rate = join_load(std::slice::from_ref(&e), &sc, "buyer", args.buyers, args.clients).await;
    let after = info_int(&r, "memory", "used_memory").await;
    let per_buyer = (after.saturating_sub(before)) as f64 / args.buyers as f64;
    println!("\n## Memory at {} waiting buyers (buyer ids like buyer-123456)", args.buyers);
    println!("filled in {:.1} s ({rate:.0} joins/s)", t.elapsed().as_secs_f64());
    println!(
        "used_memory grew by {} bytes: {per_buyer:.1} bytes per waiting buyer, every key included",
        after - before
    );
    let keys: Vec<String> = r.query(redis::cmd("KEYS").arg("seatwise:*{mem:d0}*")).await.unwrap();
    let mut usage = Vec::new();
    for k in keys {
        let n: Option<u64> = r.query(redis::cmd("MEMORY").arg("USAGE").arg(&k).arg("SAMPLES").arg(0)).await.unwrap();
        usage.push((n.unwrap_or(0), k));
    }
    usage.sort_by(|a, b| b.cmp(a));
    for (n, k) in usage.iter().take(4) {
        println!("  {k:<44} {n:>11} bytes ({:.1} per buyer)", *n as f64 / args.buyers as f64);
    }
    // The slowest paths at this size: the last buyer's status (rank over 1M), the stats pass, admissions
    // from the head, and closing the whole queue.
    let last = e.join(&sc, &BuyerId::new("buyer-last").unwrap()).await.unwrap();
    let t = Instant::now();
    let st = e.status(&sc, &Ticket::parse(&last.ticket).unwrap()).await.unwrap();
    println!("status of the last buyer (rank {}): {:.2} ms round trip", st.rank, t.elapsed().as_secs_f64() * 1000.0);
    e.leave(&sc, &Ticket::parse(&first.ticket).unwrap()).await.unwrap();
    let t = Instant::now();
    let n = e.admit(&sc, 1000).await.unwrap();
    println!("admit {n} from the head: {:.2} ms round trip", t.elapsed().as_secs_f64() * 1000.0);
    let t = Instant::now();
    let eff = e.close_queue(&sc, seatwise_engine::queue::CloseReason::Closed).await.unwrap();
    println!("close the queue ({}): {:.2} ms round trip", eff.message(), t.elapsed().as_secs_f64() * 1000.0);
    let worst = slow_scripts(&r).await;
    print_slow("script calls slower than 1 ms during fill, rank, admit and close", &worst);

    // 2a. A pre-queue of the same size: the opening draws the order (O(1): a keyed permutation, no sort),
    // then admissions follow the draw.
    let _: String = r.query(&redis::cmd("FLUSHALL")).await.unwrap();
    let _: String = r.query(redis::cmd("SLOWLOG").arg("RESET")).await.unwrap();
    let pre = show("pre", 1, 1);
    e.create_show(&pre, &Actor::new("bench", "bench")).await.unwrap();
    let sc = Scope::parse("pre:d0").unwrap();
    let settings = pre.schedules[0].settings();
    e.open_prequeue(&sc, &settings, None).await.unwrap();
    // The previous queue's memory is freed in the background (UNLINK): wait for it before measuring.
    while info_int(&r, "memory", "lazyfree_pending_objects").await > 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = info_int(&r, "memory", "used_memory").await;
    let t = Instant::now();
    join_load(std::slice::from_ref(&e), &sc, "buyer", args.buyers, args.clients).await;
    let filled = t.elapsed().as_secs_f64();
    let per_buyer = (info_int(&r, "memory", "used_memory").await.saturating_sub(before)) as f64 / args.buyers as f64;
    let probe =
        e.join_with_proof(&sc, &BuyerId::new("buyer-7").unwrap(), seatwise_engine::JoinProof::Trusted).await.unwrap();
    let t = Instant::now();
    e.open_queue(&sc, &settings).await.unwrap();
    let opening = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let st = e.status(&sc, &Ticket::parse(&probe.ticket).unwrap()).await.unwrap();
    let status_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let n = e.admit(&sc, 1000).await.unwrap();
    let admit_ms = t.elapsed().as_secs_f64() * 1000.0;
    let worst = slow_scripts(&r).await;
    println!("\n## A pre-queue of {} buyers, drawn at the opening", args.buyers);
    println!("filled in {filled:.1} s; {per_buyer:.1} bytes per buyer, every key included");
    println!("the opening (draw, reveal, first admission): {opening:.2} ms round trip");
    println!("status of a pre-queue buyer after the draw (rank {}): {status_ms:.2} ms round trip", st.rank);
    println!("admit {n} in the drawn order: {admit_ms:.2} ms round trip");
    print_slow("script calls slower than 1 ms", &worst);

    // 2b. Closing with 100,000 buyers in a session: one BITOP merges the sessions into the drain.
    let _: String = r.query(&redis::cmd("FLUSHALL")).await.unwrap();
    open(&e, &show("sessions", 1, 1)).await;
    let sc = Scope::parse("sessions:d0").unwrap();
    join_load(std::slice::from_ref(&e), &sc, "buyer", 100_000, args.clients).await;
    for _ in 0..10 {
        e.admit(&sc, 10_000).await.unwrap();
    }
    let _: String = r.query(redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(0)).await.unwrap();
    let _: String = r.query(redis::cmd("SLOWLOG").arg("RESET")).await.unwrap();
    let t = Instant::now();
    let eff = e.close_queue(&sc, seatwise_engine::queue::CloseReason::Closed).await.unwrap();
    let round_trip = t.elapsed().as_secs_f64() * 1000.0;
    let slow: Vec<Vec<redis::Value>> = r.query(redis::cmd("SLOWLOG").arg("GET").arg(100)).await.unwrap();
    let close_us = slow
        .iter()
        .filter_map(|e| match e.get(2) {
            Some(redis::Value::Int(n)) => Some(*n as u64),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    println!(
        "close with 100000 sessions ({}): slowest command {} µs in Redis, {round_trip:.2} ms round trip",
        eff.message(),
        close_us
    );
    let _: String = r.query(redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(1000)).await.unwrap();

    // 3. Monitoring 100 open schedules.
    let _: String = r.query(&redis::cmd("FLUSHALL")).await.unwrap();
    let big = show("mon", args.schedules, 5);
    open(&e, &big).await;
    for (i, (sc, _)) in big.scopes().into_iter().enumerate() {
        for b in 0..(i % 20) {
            e.join(&sc, &BuyerId::new(&format!("b{b}")).unwrap()).await.unwrap();
        }
    }
    e.all_open_queue_status().await.unwrap();
    let mut times = Vec::new();
    let rt0 = r.round_trips();
    let runs = 50;
    for _ in 0..runs {
        let t = Instant::now();
        let all = e.all_open_queue_status().await.unwrap();
        times.push(t.elapsed());
        assert_eq!(all[0].queue_statuses.len(), args.schedules);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let monitor_line = format!(
        "round trips per refresh: {}; time per refresh: median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        (r.round_trips() - rt0) / runs as u64,
        ms(times[runs / 2]),
        ms(times[runs * 95 / 100]),
        ms(times[runs - 1])
    );
    println!("\n## Monitoring {} open schedules ({runs} refreshes)\n{monitor_line}", args.schedules);

    // 3b. The same over the Upstash REST transport (the local REST stand-in in front of the same server).
    let rest = UpstashStandIn::start(&server.url(), "bench-rest-token").await;
    let rest_engine = Engine::new(
        Redis::connect(&ConnectOptions::new(Target::Rest { url: rest.url(), token: "bench-rest-token".into() }))
            .await
            .unwrap(),
    );
    rest_engine.all_open_queue_status().await.unwrap();
    let (req0, mut rtimes) = (rest.requests(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        rest_engine.all_open_queue_status().await.unwrap();
        rtimes.push(t.elapsed());
    }
    rtimes.sort();
    println!(
        "over REST: HTTP requests per refresh: {}; time per refresh: median {:.2} ms, p95 {:.2} ms",
        (rest.requests() - req0) / runs as u64,
        ms(rtimes[runs / 2]),
        ms(rtimes[runs * 95 / 100])
    );
    open(&rest_engine, &show("rest", 1, 1)).await;
    let rest_joins = (args.joins / 4).max(1000);
    let rate =
        join_load(std::slice::from_ref(&rest_engine), &Scope::parse("rest:d0").unwrap(), "r", rest_joins, args.clients)
            .await;
    println!(
        "join throughput over REST ({rest_joins} joins, {} concurrent clients, one HTTP request each): {rate:.0} joins/s ({:.2} of the native shared handle's {shared:.0})",
        args.clients,
        rate / shared
    );

    // 4. Closing a big queue: every buyer told through Ably (a local stand-in adding latency).
    let _: String = r.query(&redis::cmd("FLUSHALL")).await.unwrap();
    let latency = Duration::from_millis(args.ably_latency_ms);
    let standin = StandIn::start(StandInConfig { latency, ..StandInConfig::default() }).await;
    let mut cfg = AblyConfig::new(ApiKey::parse(&standin.key()).unwrap());
    cfg.endpoint = Some(Endpoint::parse(&standin.url()).unwrap());
    cfg.max_requests_per_second = 0.0;
    let ably = Arc::new(AblyRest::new(cfg).unwrap());
    let mut notifier = Notifier::new(e.clone(), ably.clone(), "bench");
    notifier.config.concurrency = args.ably_concurrency;
    open(&e, &show("close", 1, 1)).await;
    let sc = Scope::parse("close:d0").unwrap();
    join_load(std::slice::from_ref(&e), &sc, "buyer", args.close_buyers, args.clients).await;
    let scopes = vec![sc.clone()];
    while notifier.cycle(&scopes, &|_| {}).await.unwrap().read > 0 {}
    let (req0, msg0) = (standin.requests(), standin.message_count());
    let t = Instant::now();
    let actor = Actor::new("bench", "bench");
    e.update_show_status(&ShowId::new("close").unwrap(), ShowStatus::Closed, &actor, None).await.unwrap();
    loop {
        let c = notifier.cycle(&scopes, &|_| {}).await.unwrap();
        assert_eq!(c.failed, 0, "{:?}", c.errors);
        if c.read == 0 {
            break;
        }
    }
    let took = t.elapsed();
    let requests = standin.requests() - req0;
    let told = standin.message_count() - msg0;
    // The design guide's way: one publish per buyer, one after another. Timed on 20, then extrapolated.
    let t1 = Instant::now();
    for i in 0..20 {
        ably.publish("seed-way", &[Message::new("closed", serde_json::json!({"i": i}))]).await.unwrap();
    }
    let per = t1.elapsed() / 20;
    let seed_way = per * (args.close_buyers as u32 + 1);
    println!(
        "\n## Closing a queue of {} buyers through Ably (stand-in adding {} ms per request, {} requests in flight)",
        args.close_buyers, args.ably_latency_ms, args.ably_concurrency
    );
    println!("end to end (status change, public event, one private notice per buyer): {:.2} s", took.as_secs_f64());
    println!("HTTP requests: {requests}; messages delivered: {told}");
    println!(
        "the design guide's way (one publish per buyer, one after another, {:.1} ms each): {:.0} s = {:.1} min, {:.0}× longer",
        per.as_secs_f64() * 1000.0,
        seed_way.as_secs_f64(),
        seed_way.as_secs_f64() / 60.0,
        seed_way.as_secs_f64() / took.as_secs_f64()
    );

    // 5. An idle worker's cost: what it sends to Redis per second with nothing to deliver, when a few
    //    queues are live among many closed ones (billed per command on Upstash).
    let _: String = r.query(&redis::cmd("FLUSHALL")).await.unwrap();
    open(&e, &show("live", 10, 5)).await;
    for i in 0..40 {
        let id = format!("past{i}");
        open(&e, &show(&id, 5, 5)).await;
        e.update_show_status(&ShowId::new(&id).unwrap(), ShowStatus::Closed, &actor, None).await.unwrap();
    }
    notifier.release().await;
    // A fresh notifier: the FLUSHALL above removed the consumer groups the first one knew.
    let notifier = Notifier::new(e.clone(), ably.clone(), "bench-all");
    let all = notifier.all_scopes().await.unwrap();
    while notifier.cycle(&all, &|_| {}).await.unwrap().read > 0 {}
    notifier.release().await;
    let idle = Duration::from_millis(500);
    let window = Duration::from_secs(6);
    // Before: every pass read the catalog and every schedule's outbox of every show ever created.
    let c0 = info_int(&r, "stats", "total_commands_processed").await;
    let t = Instant::now();
    while t.elapsed() < window {
        let all = notifier.all_scopes().await.unwrap();
        notifier.cycle(&all, &|_| {}).await.unwrap();
        tokio::time::sleep(idle).await;
    }
    let before = (info_int(&r, "stats", "total_commands_processed").await - c0) as f64 / t.elapsed().as_secs_f64();
    notifier.release().await;
    drop(notifier);
    // Now: the background worker (leases, watched scopes), same pause between passes.
    let w = Worker::start(e.clone(), Some(ably.clone()), "bench-idle", idle);
    tokio::time::sleep(Duration::from_secs(2)).await; // takes its leases, settles
    let c0 = info_int(&r, "stats", "total_commands_processed").await;
    let t = Instant::now();
    tokio::time::sleep(window).await;
    let now = (info_int(&r, "stats", "total_commands_processed").await - c0) as f64 / t.elapsed().as_secs_f64();
    w.stop().await;
    println!("\n## An idle worker (10 live queues among 210; a pass every {} ms)", idle.as_millis());
    println!("reading every outbox of every show each pass: {before:>6.1} commands/s");
    println!(
        "watching the live queues (leases, heartbeats, housekeeping included): {now:>6.1} commands/s ({:.1}× fewer)",
        before / now
    );
}
