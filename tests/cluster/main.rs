//! The whole lifecycle on a real 3-master Redis Cluster started by the test: every script touches one slot
//! (no CROSSSLOT), monitoring pipelines across nodes, and a single-node URL to a cluster node fails clearly.

#[path = "../support/mod.rs"]
mod support;

/// This suite talks the Redis protocol.
pub const TRANSPORT: support::Transport = support::Transport::Native;

use seatwise_engine::{
    BuyerId, ConnectOptions, Engine, Error, Redis, SeatId, ShowId, ShowStatus, Target, Ticket, TicketState,
};
use support::*;

fn buyer(s: &str) -> BuyerId {
    BuyerId::new(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle_runs_on_a_three_master_cluster() {
    let c = start_cluster().await;
    let e = &c.engine;
    assert!(e.redis().is_cluster());
    let id = ShowId::new("gala").unwrap();
    // 12 schedules: their hash tags spread over the three masters.
    open_show(e, &show("gala", 12, 1, 1.5, 120.0)).await;
    let scopes: Vec<_> = (1..=12).map(|i| scope("gala", &format!("d{i}"))).collect();
    for sc in &scopes {
        let a = Ticket::parse(&e.join(sc, &buyer("a")).await.unwrap().ticket).unwrap();
        let b = Ticket::parse(&e.join(sc, &buyer("b")).await.unwrap().ticket).unwrap();
        assert_eq!(e.status(sc, &b).await.unwrap().rank, 1);
        e.hold(sc, &a, &[SeatId::new("A1").unwrap()]).await.unwrap();
        e.complete(sc, &a).await.unwrap();
        assert_eq!(e.status(sc, &b).await.unwrap().state, TicketState::Admitted);
        assert!(matches!(e.hold(sc, &b, &[SeatId::new("A1").unwrap()]).await.unwrap_err(), Error::SeatsTaken(_)));
        e.join(sc, &buyer("c")).await.unwrap();
        e.admit(sc, 1).await.unwrap();
        e.set_capacity(sc, 3).await.unwrap();
        e.announce(sc, "hello").await.unwrap();
    }
    // Sessions of 1.5 s expire; the stats pass ends them.
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    e.all_open_queue_status().await.unwrap();
    let before = e.redis().round_trips();
    let all = e.all_open_queue_status().await.unwrap();
    assert_eq!(e.redis().round_trips() - before, 2, "one catalog read and one pipeline, split over the nodes");
    for q in &all[0].queue_statuses {
        assert_eq!((q.stats.queue_size, q.stats.active_sessions, q.stats.completed_total), (0, 0, 1), "{q:?}");
        assert_eq!(q.stats.expired_total, 2);
    }
    e.update_show_status(&id, ShowStatus::Postponed, &actor(), None).await.unwrap();
    e.update_show_status(&id, ShowStatus::Open, &actor(), None).await.unwrap();
    let r = e.update_show_status(&id, ShowStatus::Closed, &actor(), None).await.unwrap();
    assert!(r.success && r.queue_results.iter().all(|q| q.message.starts_with("queue closed")), "{r:?}");
    let r = e.update_show_status(&id, ShowStatus::Open, &actor(), None).await.unwrap();
    assert!(r.queue_results.iter().all(|q| q.message == "queue opened (generation 2)"), "{r:?}");
    assert_eq!(e.audit_log(100, Some(&id)).await.unwrap().len(), 11, "create + 5 changes × (status, result)");
    // The queues really are spread: every master holds some of them.
    for node in &c.cluster.nodes {
        let r = Redis::connect(&ConnectOptions::new(Target::Url(node.url()))).await.unwrap();
        let n: u64 = r.query(&redis::cmd("DBSIZE")).await.unwrap();
        assert!(n > 0, "node {} holds no key", node.port());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_url_to_a_cluster_node_is_a_clear_error() {
    let c = start_cluster().await;
    open_show(&c.engine, &show("s", 12, 1, 60.0, 120.0)).await;
    let single = Redis::connect(&ConnectOptions::new(Target::Url(c.cluster.nodes[0].url()))).await.unwrap();
    let scopes: Vec<_> = (1..=12).map(|i| scope("s", &format!("d{i}"))).collect();
    let mut errors = Vec::new();
    for sc in &scopes {
        if let Err(e) = Engine::new(single.clone()).join(sc, &buyer("x")).await {
            errors.push(e);
        }
    }
    assert!(!errors.is_empty(), "some scopes live on other nodes");
    for e in errors {
        assert!(matches!(e, Error::Cluster(_)), "{e}");
        assert!(e.to_string().contains("connect to it as a cluster"), "{e}");
    }
}
