//! How a venue deploys it: several shared-nothing gateways on one Redis (single node, Cluster, Upstash
//! REST), buyers moving between them, concurrent joins coalesced, graceful shutdown.

use reqwest::StatusCode;
use seatwise_engine::{ConnectOptions, Engine, Redis, Target};

use crate::support::*;
use crate::*;

#[tokio::test]
async fn a_buyer_moves_between_two_gateways_mid_queue() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let (g1, g2) = (gateway(&t.engine, config()).await, gateway(&t.engine, config()).await);
    let mut first = Browser::new();
    first.join(&g1.url(), "s1:d1").await;
    let mut b = Browser::new();
    let j = b.join(&g1.url(), "s1:d1").await;
    assert_eq!(j.body["rank"], 1);
    let ticket = j.body["ticket"].as_str().unwrap().to_string();
    // The load balancer sends the next calls to the other gateway: same identity, same ticket.
    let s = b.get(&Browser::ticket_url(&g2.url(), "s1:d1", &ticket, "")).await;
    assert_eq!((s.status, s.body["rank"].as_u64()), (StatusCode::OK, Some(1)), "{:?}", s.body);
    assert_eq!(b.join(&g2.url(), "s1:d1").await.body["ticket"], ticket.as_str());
    // One gateway goes away; the other carries on.
    g1.stop().await;
    let s = b.get(&Browser::ticket_url(&g2.url(), "s1:d1", &ticket, "")).await;
    assert_eq!(s.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_joins_are_coalesced_with_dense_ranks_and_one_ticket_per_buyer() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let key = "service key of the venue, 32+ chars";
    let g = gateway(&t.engine, Config { service_key: Some(key.into()), ..config() }).await;
    let base = g.url();
    let g2 = gateway(&t.engine, Config { service_key: Some(key.into()), ..config() }).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..400 {
        let base = if i % 2 == 0 { base.clone() } else { g2.url() };
        set.spawn(async move {
            // Buyers 0..200 each join twice at once (a double click): one ticket each.
            let mut b = Browser::service(key, &format!("buyer-{}", i % 200));
            let r = b.join(&base, "s1:d1").await;
            (i % 200, r.body["ticket"].as_str().unwrap().to_string(), r.body["rank"].as_u64().unwrap())
        });
    }
    let mut by_buyer = std::collections::HashMap::new();
    while let Some(r) = set.join_next().await {
        let (buyer, ticket, _) = r.unwrap();
        let prev = by_buyer.insert(buyer, ticket.clone());
        assert!(prev.is_none_or(|p| p == ticket), "buyer {buyer} got two tickets");
    }
    assert_eq!(by_buyer.len(), 200);
    let stats = queue_stats(&t.engine, &scope("s1", "d1")).await;
    // The first buyer was admitted at once; the other 199 wait, and no number was skipped or doubled.
    assert_eq!((stats.queue_size, stats.tickets_issued), (199, 200));
    let batches = scrape_metrics(&t.engine).await;
    assert!(batches.contains("seatwise_gateway_join_batch_size"), "{batches}");
}

#[tokio::test]
async fn stopping_a_gateway_lets_the_requests_in_flight_finish() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let g = gateway(&t.engine, config()).await;
    let base = g.url();
    // A request in flight: its headers and half its body are in when the gateway is told to stop.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(g.addr).await.unwrap();
    let head = "POST /v1/queues/s1/d1/tickets HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{";
    conn.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stopping = tokio::spawn(g.stop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!stopping.is_finished(), "the gateway waits for the request in flight");
    assert!(tokio::net::TcpStream::connect(&base[7..]).await.is_err(), "but takes no new connection");
    conn.write_all(b"}").await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"ticket\""), "{answer}");
    stopping.await.unwrap();
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err(), "stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buyer_path_runs_on_a_redis_cluster() {
    let c = start_cluster().await;
    crate::api::buyer_lifecycle(&c.engine).await;
}

#[tokio::test]
async fn the_buyer_path_runs_on_upstash_rest() {
    let t = start().await;
    let standin = seatwise_upstash_standin::UpstashStandIn::start(&t.server.url(), "rest-token").await;
    let target = Target::Rest { url: standin.url(), token: "rest-token".into() };
    let engine = Engine::new(Redis::connect(&ConnectOptions::new(target)).await.unwrap());
    crate::api::buyer_lifecycle(&engine).await;
}
