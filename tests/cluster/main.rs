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
    assert!(
        r.queue_results
            .iter()
            .all(|q| q.message == "queue opened again, as a new queue: tickets from before it closed no longer count"),
        "{r:?}"
    );
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

/// A queue's slot moves to another master in the middle of a sale (a resharding): during the migration the
/// engine follows ASK, after it MOVED. A redirect means the command did not run, so the engine sends it
/// again; it never sends a command again after an I/O error (the first one may have run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_whose_slot_moves_to_another_master_keeps_working() {
    let c = start_cluster().await;
    let e = &c.engine;
    open_show(e, &show("move", 1, 1, 60.0, 120.0)).await;
    let sc = scope("move", "d1");
    let a = Ticket::parse(&e.join(&sc, &buyer("a")).await.unwrap().ticket).unwrap();
    let slot = seatwise_engine::redis_conn::hash_slot(&seatwise_engine::keys::queue_keys(&sc)[0]);
    let mut nodes = Vec::new();
    for n in &c.cluster.nodes {
        let conn = redis::Client::open(n.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
        nodes.push((n.port(), conn));
    }
    let mut ids = Vec::new();
    let mut source = 0;
    for (i, (_, conn)) in nodes.iter_mut().enumerate() {
        let id: String = redis::cmd("CLUSTER").arg("MYID").query_async(conn).await.unwrap();
        ids.push(id);
        let n: i64 = redis::cmd("CLUSTER").arg("COUNTKEYSINSLOT").arg(slot).query_async(conn).await.unwrap();
        if n > 0 {
            source = i;
        }
    }
    let target = (source + 1) % nodes.len();
    let (src_id, tgt_id, tgt_port) = (ids[source].clone(), ids[target].clone(), nodes[target].0);
    let setslot = |state: &str, id: &str| redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg(state).arg(id).clone();
    let _: () = setslot("IMPORTING", &src_id).query_async(&mut nodes[target].1).await.unwrap();
    let _: () = setslot("MIGRATING", &tgt_id).query_async(&mut nodes[source].1).await.unwrap();
    let keys: Vec<String> =
        redis::cmd("CLUSTER").arg("GETKEYSINSLOT").arg(slot).arg(1000).query_async(&mut nodes[source].1).await.unwrap();
    let _: () = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(tgt_port)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS")
        .arg(&keys)
        .query_async(&mut nodes[source].1)
        .await
        .unwrap();
    // Mid-migration: every key is on the target, the slot still belongs to the source (ASK, then TRYAGAIN
    // for a script whose keys are not all there yet): the call waits for the migration to end.
    let during = {
        let (e, sc, a) = (e.clone(), sc.clone(), a.clone());
        tokio::spawn(async move { e.status(&sc, &a).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for (_, conn) in nodes.iter_mut() {
        let _: () = setslot("NODE", &tgt_id).query_async(conn).await.unwrap();
    }
    assert_eq!(during.await.unwrap().unwrap().state, TicketState::Admitted);
    // After: the slot is the target's (MOVED). Each call ran exactly once.
    let b = e.join(&sc, &buyer("b")).await.unwrap();
    assert_eq!(b.rank, 1);
    let st = queue_stats(e, &sc).await;
    assert_eq!((st.tickets_issued, st.queue_size, st.active_sessions), (2, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drawn_pre_queue_with_seats_and_an_outflow_limit_runs_on_a_cluster() {
    use seatwise_engine::draw::seq_at;
    use seatwise_engine::{BuyerId, SeatMap, Ticket, TicketState};
    let c = start_cluster().await;
    let e = &c.engine;
    let mut s = show("fair", 1, 1, 60.0, 120.0);
    s.schedules[0].seat_map = Some(SeatMap { rows: vec!["A".into()], seats_per_row: 4, zones: Vec::new() });
    s.schedules[0].outflow_per_minute = Some(6000);
    e.create_show(&s, &actor()).await.unwrap();
    let sc = scope("fair", "d1");
    let settings = s.schedules[0].settings();
    e.open_prequeue(&sc, &settings, None).await.unwrap();
    let mut tickets = vec![String::new()];
    for i in 0..30 {
        tickets.push(e.join(&sc, &BuyerId::new(&format!("p{i}")).unwrap()).await.unwrap().ticket);
    }
    e.open_queue(&sc, &settings).await.unwrap();
    let st = queue_stats(e, &sc).await;
    assert_eq!((st.draw_count, st.seats_total, st.outflow_per_min), (30, 4, 6000));
    let first = Ticket::parse(&tickets[seq_at(&st.draw_seed, 30, 1) as usize]).unwrap();
    assert_eq!(e.status(&sc, &first).await.unwrap().state, TicketState::Admitted);
    assert_eq!(e.verify_draw(&sc).await.unwrap().tickets, 30);
}
