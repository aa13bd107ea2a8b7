//! A Redis Cluster master dies in the middle of an on-sale: a real 3-master + 3-replica Cluster
//! (`cluster-node-timeout 2000`), one show with three performances on three different masters, a gateway
//! under load (buyers polling and joining over HTTP), and the master of one performance's slot killed with
//! SIGKILL. Only that performance pauses, for about the failover; nothing is handed out twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use seatwise_engine::local::RedisCluster;
use seatwise_engine::{ConnectOptions, Engine, Redis, Target};

use crate::support::*;
use crate::*;

/// The master port serving each slot range now (`CLUSTER SLOTS`).
async fn slot_masters(e: &Engine) -> Vec<(i64, i64, i64)> {
    let raw: Vec<redis::Value> = e.redis().query(&redis::cmd("CLUSTER").arg("SLOTS").clone()).await.unwrap();
    raw.into_iter()
        .filter_map(|r| match r {
            redis::Value::Array(v) => match (&v[0], &v[1], &v[2]) {
                (redis::Value::Int(a), redis::Value::Int(b), redis::Value::Array(m)) => match m.get(1) {
                    Some(redis::Value::Int(p)) => Some((*a, *b, *p)),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}

async fn master_of(e: &Engine, key: &str) -> i64 {
    let slot: i64 = e.redis().query(&redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).clone()).await.unwrap();
    slot_masters(e).await.into_iter().find(|(a, b, _)| (*a..=*b).contains(&slot)).map(|r| r.2).unwrap()
}

#[derive(Default)]
struct Seen {
    /// (performance, ms since the kill (negative before), HTTP status, Retry-After given)
    calls: Vec<(String, i64, StatusCode, bool)>,
    tickets: Vec<(String, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_mid_sale_pauses_only_its_performance_and_hands_out_nothing_twice() {
    let mut cluster = RedisCluster::start_with_replicas(3, 2000).unwrap();
    let e = Engine::new(Redis::connect(&ConnectOptions::new(Target::Cluster(cluster.urls()))).await.unwrap());
    // Three performances whose queues sit on three different masters.
    let mut chosen: Vec<(String, i64)> = Vec::new();
    for i in 1..=60 {
        let m = master_of(&e, &format!("{{gala:d{i}}}")).await;
        if chosen.iter().all(|(_, o)| *o != m) {
            chosen.push((format!("d{i}"), m));
        }
        if chosen.len() == 3 {
            break;
        }
    }
    assert_eq!(chosen.len(), 3, "three masters serve the slots");
    let mut sh = show("gala", 60, 1, 600.0, 600.0);
    sh.schedules.retain(|s| chosen.iter().any(|(c, _)| c == s.id.as_str()));
    open_show(&e, &sh).await;
    let g = gateway(&e, config()).await;
    let base = g.url();
    let (victim_sched, victim_port) = chosen[0].clone();

    let seen = Arc::new(Mutex::new(Seen::default()));
    let kill_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let since = |k: &Mutex<Option<Instant>>| -> i64 {
        match *k.lock().unwrap() {
            Some(t) => Instant::now().saturating_duration_since(t).as_millis() as i64,
            None => -1,
        }
    };
    // Buyers: 10 per performance join first, then each polls its ticket every 100 ms; more buyers keep
    // joining throughout (one every 50 ms, round the performances).
    let mut tasks = tokio::task::JoinSet::new();
    for (sched, _) in &chosen {
        for _ in 0..10 {
            let (seen, kill_at, stop, sched, base) =
                (seen.clone(), kill_at.clone(), stop.clone(), sched.clone(), base.clone());
            tasks.spawn(async move {
                let mut b = Browser::new();
                let url = format!("{base}/v1/queues/gala/{sched}/tickets");
                let j = b.post(&url, json!({})).await;
                assert_eq!(j.status, StatusCode::OK, "{:?}", j.body);
                let ticket = j.body["ticket"].as_str().unwrap().to_string();
                seen.lock().unwrap().tickets.push((sched.clone(), ticket.clone()));
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let a = b.get(&format!("{url}/{ticket}")).await;
                    let at = since(&kill_at);
                    seen.lock().unwrap().calls.push((
                        sched.clone(),
                        at,
                        a.status,
                        a.headers.contains_key("retry-after"),
                    ));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    }
    {
        let (seen, kill_at, stop, base) = (seen.clone(), kill_at.clone(), stop.clone(), base.clone());
        let scheds: Vec<String> = chosen.iter().map(|c| c.0.clone()).collect();
        tasks.spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let sched = scheds[n % 3].clone();
                n += 1;
                let mut b = Browser::new();
                let j = b.post(&format!("{base}/v1/queues/gala/{sched}/tickets"), json!({})).await;
                let at = since(&kill_at);
                {
                    let mut s = seen.lock().unwrap();
                    s.calls.push((sched.clone(), at, j.status, j.headers.contains_key("retry-after")));
                    if j.status == StatusCode::OK {
                        s.tickets.push((sched, j.body["ticket"].as_str().unwrap().to_string()));
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // SIGKILL the master of the first performance's slot; the replica takes over.
    let i = cluster.nodes.iter().position(|n| n.port() as i64 == victim_port).unwrap();
    cluster.nodes.remove(i).kill();
    let killed = Instant::now();
    *kill_at.lock().unwrap() = Some(killed);
    // The monitor (what the console refreshes) still answers: the dead master's row is an error, the
    // others are read as usual.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shows = e.all_open_queue_status().await.expect("the monitor answers during the failover");
    for q in &shows[0].queue_statuses {
        let failed = q.stats.state == seatwise_engine::QueueState::Error;
        assert_eq!(failed, q.sched_id.as_str() == victim_sched, "{}: {:?}", q.sched_id, q.stats.closed_reason);
    }
    let key = format!("{{gala:{victim_sched}}}");
    // Asked of a surviving node directly (a cluster connection may route the question to the dead one).
    let witness = Engine::new(Redis::connect(&ConnectOptions::new(Target::Url(cluster.nodes[0].url()))).await.unwrap());
    let mut failover = None;
    while killed.elapsed() < Duration::from_secs(45) {
        if let Ok(m) = tokio::time::timeout(Duration::from_secs(1), master_of(&witness, &key)).await
            && m != victim_port
        {
            failover = Some(killed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failover = failover.expect("a replica took over within 45 s");
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}
    let s = std::mem::take(&mut *seen.lock().unwrap());

    // Never a 500; every 503 says when to come back.
    for (sched, at, status, retry) in &s.calls {
        assert!(
            !status.is_server_error() || (*status == StatusCode::SERVICE_UNAVAILABLE && *retry),
            "{sched} at {at} ms: {status}"
        );
    }
    // The other performances barely noticed: ≥ 99 % answered during the failover.
    let window = failover.as_millis() as i64 + 2000;
    let during = |sched: &str| -> Vec<StatusCode> {
        s.calls.iter().filter(|c| c.0 == sched && c.1 >= 0 && c.1 <= window).map(|c| c.2).collect()
    };
    for (sched, _) in &chosen[1..] {
        let calls = during(sched);
        let (all, ok) = (calls.len(), calls.iter().filter(|c| **c == StatusCode::OK).count());
        assert!(all > 20 && ok * 100 >= all * 99, "{sched}: {ok} of {all} calls answered during the failover");
    }
    // The affected performance answered again within the failover time + 2 s.
    let first_ok =
        s.calls.iter().filter(|c| c.0 == victim_sched && c.1 > 0 && c.2 == StatusCode::OK).map(|c| c.1).min();
    let back = first_ok.expect("the affected performance answered again");
    assert!(
        back <= failover.as_millis() as i64 + 2000,
        "answered again {back} ms after the kill (failover {failover:?})"
    );
    println!("failover {} ms; the affected performance answered again {back} ms after the kill", failover.as_millis());

    // No ticket handed out twice; ranks dense in every queue.
    let mut ids = HashSet::new();
    for (_, t) in &s.tickets {
        assert!(ids.insert(t.clone()), "ticket {t} handed out twice");
    }
    let mut per: HashMap<&str, Vec<u64>> = HashMap::new();
    for (sched, t) in &s.tickets {
        let st = e.status(&scope("gala", sched), &seatwise_engine::Ticket::parse(t).unwrap()).await.unwrap();
        if st.state == seatwise_engine::TicketState::Waiting {
            per.entry(sched.as_str()).or_default().push(st.rank);
        }
    }
    for (sched, mut ranks) in per {
        ranks.sort();
        assert_eq!(ranks, (1..=ranks.len() as u64).collect::<Vec<_>>(), "{sched}: ranks not dense");
        assert_eq!(queue_stats(&e, &scope("gala", sched)).await.queue_size, ranks.len() as u64, "{sched}: stats");
    }
}

/// While Redis cannot count a limit, each route follows its rule, never chance: joins keep their limit from
/// the gateway's own counter (429 once over it, although Redis is down), status polls are not counted (the
/// call goes on, and answers 503 because the queue itself cannot answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_during_an_outage_follow_their_rule() {
    use seatwise_engine::local::{RedisServer, ServerOptions};
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let e = Engine::new(Redis::connect(&ConnectOptions::new(Target::Url(server.url()))).await.unwrap());
    open_show(&e, &show("s1", 1, 1, 600.0, 600.0)).await;
    let mut cfg = config();
    // An hour's window: the gateway's own count must not start over at a window's edge mid-test.
    let three = seatwise_gateway::Limit { max: 3, window_ms: 3_600_000 };
    cfg.limits.join_per_ip = three;
    cfg.limits.new_buyer_per_ip = seatwise_gateway::Limit { max: 100, window_ms: 60_000 };
    cfg.limits.status_per_ip = three;
    let g = gateway(&e, cfg).await;
    let url = format!("{}/v1/queues/s1/d1/tickets", g.url());
    let mut b = Browser::new();
    let j = b.post(&url, json!({})).await;
    assert_eq!(j.status, StatusCode::OK);
    let ticket = j.body["ticket"].as_str().unwrap().to_string();
    server.kill();
    // Joins: the gateway's own count starts with the outage: three pass it (and meet the outage: 503), the
    // fourth is refused before any work.
    let codes: Vec<StatusCode> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(Browser::new().post(&url, json!({})).await.status);
        }
        v
    };
    assert_eq!(
        codes,
        [
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::TOO_MANY_REQUESTS
        ],
        "joins keep their limit from the gateway's own count"
    );
    // Status polls are not counted while Redis is down: never a 429, however many.
    for _ in 0..6 {
        let a = b.get(&format!("{url}/{ticket}")).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", a.body);
        assert!(a.headers.contains_key("retry-after"));
    }
    let metrics = scrape_metrics(&e).await;
    assert!(metrics.contains("seatwise_gateway_limit_outage_total"), "the outage is counted");
}
