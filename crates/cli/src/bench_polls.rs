//! What a million waiting buyers cost by polling (part of `seatwise-bench`, `--polls-only`): the previous
//! poll rule and today's, side by side in one run against one redis-server.
//!
//! 1. A real queue of `buyers` waiting buyers is filled; the cost of one buyer poll in Redis is measured
//!    (the status script plus the gateway's two rate-limit scripts, as a gateway runs them: Redis CPU from
//!    `INFO cpu` over many calls at random ranks).
//! 2. The sale is then followed in virtual time: the queue admits `rate` buyers a second for an hour; every
//!    waiting buyer polls at the interval the rule gives for their rank at that moment (today's rule from the
//!    wait estimate's 10th percentile, as the gateway computes it from the measured figures). The status calls
//!    per second are the sum over buyers of 1 / interval, taken every minute; the front's freshness is the
//!    longest interval among the first 100 ranks.

use std::time::Instant;

use seatwise_engine::redis_conn::Redis;
use seatwise_engine::{BuyerId, Engine, EtaRange, QueueStats, Scope, Ticket, TicketState};
use seatwise_gateway::routes::poll_after_ms;

/// The rule before 2026-12-06: clamp(20 ms × rank, 2 s, clamp(abandon / 3, 2 s, 30 s)).
fn previous_rule(rank: u64, abandon_ms: u64) -> u64 {
    let ceiling = (abandon_ms / 3).clamp(2_000, 30_000);
    (rank.saturating_mul(20)).clamp(2_000, ceiling)
}

/// The figures a gateway would have after an hour of admissions at `rate` per second.
fn measured(rate: f64) -> QueueStats {
    QueueStats {
        ms_per_admission: (1000.0 / rate) as u64,
        admit_share_ppm: 1_000_000,
        estimate_measured: true,
        ..QueueStats::default()
    }
}

struct Load {
    calls_per_s: f64,
    front_ms: u64,
}

/// Status calls per second of `waiting` buyers (ranks 1..=waiting) under `interval(rank)`.
fn load(waiting: u64, interval: impl Fn(u64) -> u64) -> Load {
    let mut calls = 0.0;
    let mut front_ms = 0;
    for rank in 1..=waiting {
        let ms = interval(rank);
        calls += 1000.0 / ms as f64;
        if rank <= 100 {
            front_ms = front_ms.max(ms);
        }
    }
    Load { calls_per_s: calls, front_ms }
}

async fn cpu_s(r: &Redis) -> f64 {
    let text: String = r.query(redis::cmd("INFO").arg("cpu")).await.expect("INFO cpu");
    ["used_cpu_sys:", "used_cpu_user:"]
        .iter()
        .filter_map(|k| text.lines().find_map(|l| l.strip_prefix(k)).and_then(|v| v.trim().parse::<f64>().ok()))
        .sum()
}

pub async fn run(e: &Engine, buyers: u64, clients: u64) {
    let rate = 100.0; // admissions per second: a big sale lets 1M buyers in within about three hours
    let abandon_ms = seatwise_engine::QueueSettings::DEFAULT_ABANDON_MS;
    let grace_ms = seatwise_engine::QueueSettings::DEFAULT_GRACE_MS;
    let r = e.redis().clone();
    let _: String = r.query(&redis::cmd("FLUSHALL")).await.unwrap();
    crate::open(e, &crate::show("polls", 1, 1)).await;
    let sc = Scope::parse("polls:d0").unwrap();
    let t = Instant::now();
    crate::join_load(std::slice::from_ref(e), &sc, "buyer", buyers, clients).await;
    println!("\n## A million waiting buyers polling: the previous rule and today's, side by side");
    println!("{buyers} buyers joined in {:.1} s", t.elapsed().as_secs_f64());

    // 1. The Redis cost of one poll: the status script and the gateway's two rate-limit scripts.
    let samples = 20_000u64;
    let tickets: Vec<Ticket> = {
        let mut v = Vec::new();
        for i in 0..200 {
            let b = BuyerId::new(&format!("buyer-{}", (i * 4_999) % buyers)).unwrap();
            let s = e.join_with_proof(&sc, &b, seatwise_engine::JoinProof::Trusted).await.unwrap();
            assert_eq!(s.state, TicketState::Waiting);
            v.push(Ticket::parse(&s.ticket).unwrap());
        }
        v
    };
    let cpu0 = cpu_s(&r).await;
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (e, sc, tickets) = (e.clone(), sc.clone(), tickets.clone());
        set.spawn(async move {
            let mut i = c;
            while i < samples {
                let tk = &tickets[(i as usize) % tickets.len()];
                e.rate_limit("status-ip", &format!("ip{}", i % 1000), 1_000_000, 10_000).await.unwrap();
                e.rate_limit("status-buyer", &format!("b{}", i % 1000), 1_000_000, 10_000).await.unwrap();
                e.status(&sc, tk).await.unwrap();
                i += clients;
            }
        });
    }
    while set.join_next().await.is_some() {}
    let wall = t.elapsed().as_secs_f64();
    let cpu_per_poll = (cpu_s(&r).await - cpu0) / samples as f64;
    println!(
        "one poll (status + 2 rate limits, 3 script calls) at a random rank of {buyers}: {:.1} µs of Redis CPU ({:.0} polls/s by {clients} clients)",
        cpu_per_poll * 1e6,
        samples as f64 / wall
    );

    // 2. An hour of the sale in virtual time, a sample every minute.
    let stats = measured(rate);
    let today = |rank: u64| {
        let range: EtaRange = stats.eta_range(rank);
        poll_after_ms(TicketState::Waiting, Some(range.p10_ms), grace_ms)
    };
    let (mut old_sum, mut new_sum, mut old_front, mut new_front, mut n) = (0.0, 0.0, 0, 0, 0.0);
    let mut minute = 0u64;
    while minute <= 60 {
        let waiting = buyers.saturating_sub((rate * 60.0 * minute as f64) as u64);
        let old = load(waiting, |rank| previous_rule(rank, abandon_ms));
        let new = load(waiting, today);
        old_sum += old.calls_per_s;
        new_sum += new.calls_per_s;
        old_front = old_front.max(old.front_ms);
        new_front = new_front.max(new.front_ms);
        n += 1.0;
        minute += 10;
    }
    let (old_rate, new_rate) = (old_sum / n, new_sum / n);
    // Per waiting buyer-hour: the polls of an average waiting buyer in an hour, 3 script calls each
    // (Upstash counts each EVALSHA as one command).
    let per_buyer_hour = |calls: f64| calls / (buyers as f64 - rate * 1800.0) * 3600.0;
    println!("(the sale admits {rate:.0} buyers/s; figures averaged over its first hour, every 10 minutes)");
    println!(
        "| rule | status calls/s, all buyers | Redis CPU (core-seconds per second) | Upstash commands per waiting buyer-hour | longest poll interval among the first 100 ranks |"
    );
    println!("|---|---|---|---|---|");
    for (name, calls, front) in [
        ("previous (rank × 20 ms, ≤ 30 s)", old_rate, old_front),
        ("today (half the soonest wait, ≤ 5 min)", new_rate, new_front),
    ] {
        println!(
            "| {name} | {calls:.0} | {:.2} | {:.0} | {:.1} s |",
            calls * cpu_per_poll,
            per_buyer_hour(calls) * 3.0,
            front as f64 / 1000.0
        );
    }
    println!("ratio today / previous: {:.3}", new_rate / old_rate);
}
