//! The outbox worker against the Ably stand-in: every buyer told, ids unchanged across retries, nothing
//! lost when Ably fails or a worker dies mid-drain and another takes over.
//!
//! Why one file of ~520 lines: every delivery guarantee of the worker, each a test over the same stand-in.

use std::sync::Arc;
use std::time::Duration;

use seatwise_ably::{AblyConfig, AblyRest, ApiKey, Endpoint};
use seatwise_ably_standin::{Config, Fault, StandIn};
use seatwise_engine::notify::{Notifier, Worker, queue_channel, ticket_channel};
use seatwise_engine::{Engine, Error, Scope, ShowId, ShowStatus, Ticket};

use crate::lifecycle::buyer;
use crate::support::*;

fn ably(s: &StandIn) -> Arc<AblyRest> {
    let mut cfg = AblyConfig::new(ApiKey::parse(&s.key()).unwrap());
    cfg.endpoint = Some(Endpoint::parse(&s.url()).unwrap());
    cfg.max_requests_per_second = 0.0;
    cfg.request_timeout = Duration::from_millis(1500);
    Arc::new(AblyRest::new(cfg).unwrap())
}

async fn drain_all(n: &Notifier, e: &Engine) -> u64 {
    let scopes = n.all_scopes().await.unwrap();
    let mut delivered = 0;
    for _ in 0..20 {
        let r = n.cycle(&scopes, &|_| {}).await.unwrap();
        delivered += r.delivered;
        if r.read == 0 {
            break;
        }
    }
    let _ = e;
    delivered
}

async fn pending(e: &Engine, sc: &Scope) -> u64 {
    queue_stats(e, sc).await.pending_events
}

#[tokio::test]
async fn every_event_reaches_its_channel_once_and_leaves_the_outbox() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    let n = Notifier::new(e.clone(), ably(&s), "w1");
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = e.join(&sc, &buyer("a")).await.unwrap();
    e.join(&sc, &buyer("b")).await.unwrap();
    e.pause_queue(&sc).await.unwrap();
    e.announce(&sc, "Doors at 7").await.unwrap();
    assert_eq!(pending(e, &sc).await, 4);
    drain_all(&n, e).await;
    assert_eq!(pending(e, &sc).await, 0);
    let public: Vec<String> = s.messages(&queue_channel(&sc)).into_iter().map(|m| m.name).collect();
    assert_eq!(public, vec!["queue.opened", "queue.paused", "queue.announcement"]);
    let ann = &s.messages(&queue_channel(&sc))[2].data;
    assert_eq!(
        (ann["v"].as_u64(), ann["message"].as_str(), ann["showScopeId"].as_str()),
        (Some(1), Some("Doors at 7"), Some("s1:d1"))
    );
    let mine = s.messages(&ticket_channel(&sc, &a.ticket));
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].name, "ticket.your_turn");
    assert_eq!(mine[0].data["expiresAt"].as_u64(), a.expires_at_ms);
    // Nothing more to send: a second pass sends nothing again.
    let before = s.message_count();
    drain_all(&n, e).await;
    assert_eq!(s.message_count(), before);
    // A status change reaches the admin channel with its per-schedule results.
    e.update_show_status(&ShowId::new("s1").unwrap(), ShowStatus::OnGoing, &actor(), None).await.unwrap();
    drain_all(&n, e).await;
    let admin = s.messages(seatwise_engine::notify::ADMIN_CHANNEL);
    let change = admin.iter().find(|m| m.name == "show.status_changed").expect("admin event");
    assert_eq!((change.data["from"].as_str(), change.data["to"].as_str()), (Some("OPEN"), Some("ON_GOING")));
    let applied = admin.iter().find(|m| m.name == "show.status_applied").expect("effects event");
    assert_eq!(applied.data["queueResults"][0]["showScopeId"], "s1:d1");
    assert_eq!(applied.data["success"], true);
    // No secret or internal key ever reaches Ably.
    for ch in s.channels() {
        for m in s.messages(&ch) {
            let text = m.data.to_string();
            assert!(!text.contains("secret") && !text.contains("seatwise:closing"), "{text}");
        }
    }
}

#[tokio::test]
async fn when_ably_fails_events_wait_and_go_out_once_it_is_back() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    let n = Notifier::new(e.clone(), ably(&s), "w1");
    open_show(e, &show("s1", 1, 2, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = e.join(&sc, &buyer("a")).await.unwrap();
    let b = e.join(&sc, &buyer("b")).await.unwrap();
    let scopes = n.all_scopes().await.unwrap();
    // Ably down for one cycle: nothing is acknowledged.
    s.inject(Fault::Status(503));
    let r = n.cycle(&scopes, &|_| {}).await.unwrap();
    assert_eq!((r.delivered, r.failed), (0, 3));
    assert_eq!(pending(e, &sc).await, 3);
    // One buyer's channel fails inside a batch: only that event stays.
    s.fail_channel(&ticket_channel(&sc, &b.ticket), 1);
    let r = n.cycle(&scopes, &|_| {}).await.unwrap();
    assert_eq!((r.delivered, r.failed), (2, 1), "{r:?}");
    assert_eq!(pending(e, &sc).await, 1);
    let r = n.cycle(&scopes, &|_| {}).await.unwrap();
    assert_eq!(r.delivered, 1);
    assert_eq!(pending(e, &sc).await, 0);
    assert_eq!(s.messages(&ticket_channel(&sc, &a.ticket)).len(), 1);
    assert_eq!(s.messages(&ticket_channel(&sc, &b.ticket)).len(), 1);
    assert_eq!(s.messages(&queue_channel(&sc)).len(), 1);
}

#[tokio::test]
async fn closing_tells_every_buyer_and_a_second_worker_finishes_a_dead_ones_drain() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    open_show(e, &show("s1", 1, 3, 60.0, 600.0)).await;
    let sc = scope("s1", "d1");
    let mut tickets = Vec::new();
    for i in 0..1000 {
        tickets.push(e.join(&sc, &buyer(&format!("b{i}"))).await.unwrap().ticket);
    }
    let first = Notifier::new(e.clone(), ably(&s), "w1");
    drain_all(&first, e).await; // your_turn × 3 and queue_opened
    e.update_show_status(&ShowId::new("s1").unwrap(), ShowStatus::Cancelled, &actor(), None).await.unwrap();
    // Worker 1 dies during the drain: it publishes 100 notices at a time and is killed after the first.
    let mut w1 = Notifier::new(e.clone(), ably(&s), "w1");
    w1.config.concurrency = 1;
    w1.config.lease_ttl = Duration::from_millis(300);
    let w1 = Arc::new(w1);
    let scopes = w1.all_scopes().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = {
        let (w1, scopes) = (w1.clone(), scopes.clone());
        tokio::spawn(async move {
            let _ = w1
                .cycle(&scopes, &move |p| {
                    let _ = tx.send(p.told);
                })
                .await;
        })
    };
    let told = rx.recv().await.unwrap();
    task.abort();
    let _ = task.await;
    drop(w1); // the process is gone: its leases are no longer renewed
    assert!(told > 0 && told < 1000, "{told}");
    // Worker 2 takes the stream over once the dead worker's lease ran out.
    let w2 = Notifier::new(e.clone(), ably(&s), "w2");
    tokio::time::sleep(Duration::from_millis(400)).await;
    drain_all(&w2, e).await;
    assert_eq!(pending(e, &sc).await, 0);
    for (i, t) in tickets.iter().enumerate() {
        let got: Vec<_> =
            s.messages(&ticket_channel(&sc, t)).into_iter().filter(|m| m.name == "ticket.queue_closed").collect();
        assert_eq!(got.len(), 1, "buyer {i} told exactly once");
        assert_eq!(got[0].data["reason"], "cancelled");
    }
    let closed: Vec<_> = s.messages(&queue_channel(&sc)).into_iter().filter(|m| m.name == "queue.closed").collect();
    assert_eq!(closed.len(), 1);
    let exists: u64 = e.redis().query(redis::cmd("EXISTS").arg(seatwise_engine::keys::closing(&sc, 1))).await.unwrap();
    assert_eq!(exists, 0, "the drain key is deleted once everyone was told");
}

#[tokio::test]
async fn two_workers_share_the_outbox_without_duplicates() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    open_show(e, &show("s1", 4, 50, 60.0, 600.0)).await;
    for d in 1..=4 {
        for i in 0..60 {
            e.join(&scope("s1", &format!("d{d}")), &buyer(&format!("b{i}"))).await.unwrap();
        }
    }
    let a = Notifier::new(e.clone(), ably(&s), "a");
    let b = Notifier::new(e.clone(), ably(&s), "b");
    let (ra, rb) = tokio::join!(drain_all(&a, e), drain_all(&b, e));
    assert_eq!(ra + rb, 4 * (1 + 50), "each event delivered by exactly one worker");
    assert_eq!(s.message_count(), 4 * 51);
}

#[tokio::test]
async fn without_ably_the_worker_says_so_and_events_wait() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    e.join(&scope("s1", "d1"), &buyer("a")).await.unwrap();
    let w = Worker::start(e.clone(), None, "w", Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(w.report().state, seatwise_engine::notify::WorkerState::AblyNotConfigured);
    assert_eq!(pending(e, &scope("s1", "d1")).await, 2);
    assert_eq!(w.stop().await.state, seatwise_engine::notify::WorkerState::Stopped);
}

#[tokio::test]
async fn the_background_worker_delivers_and_reports() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let w = Worker::start(e.clone(), Some(ably(&s)), "bg", Duration::from_millis(50));
    e.join(&scope("s1", "d1"), &buyer("a")).await.unwrap();
    for _ in 0..100 {
        if pending(e, &scope("s1", "d1")).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = w.stop().await;
    assert_eq!((r.delivered, r.failed), (2, 0), "{r:?}");
    assert!(r.cycles > 0 && r.last_error.is_none());
}

#[tokio::test]
async fn buyer_tokens_only_for_their_own_live_ticket() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    let client = ably(&s);
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = e.join(&sc, &buyer("ann")).await.unwrap();
    let at = Ticket::parse(&a.ticket).unwrap();
    let req = e.buyer_token_request(&client, &sc, &at, &buyer("ann"), None, None, None).await.unwrap();
    assert_eq!(req.client_id.as_deref(), Some("ann"));
    assert_eq!(req.ttl, Some(3_600_000));
    let cap: serde_json::Value = serde_json::from_str(req.capability.as_deref().unwrap()).unwrap();
    assert_eq!(cap[queue_channel(&sc)], serde_json::json!(["subscribe"]));
    assert_eq!(cap[ticket_channel(&sc, &a.ticket)], serde_json::json!(["subscribe"]));
    assert_eq!(cap.as_object().unwrap().len(), 2);
    let tok = client.request_token(&req).await.unwrap();
    assert_eq!(tok.client_id.as_deref(), Some("ann"));
    let err = e.buyer_token_request(&client, &sc, &at, &buyer("bob"), None, None, None).await.unwrap_err();
    assert!(matches!(err, Error::NotOwner { .. }), "{err}");
    let err =
        e.buyer_token_request(&client, &sc, &at, &buyer("ann"), Some(3 * 3_600_000), None, None).await.unwrap_err();
    assert!(err.to_string().contains("2 hours"), "{err}");
    e.leave(&sc, &at).await.unwrap();
    let err = e.buyer_token_request(&client, &sc, &at, &buyer("ann"), None, None, None).await.unwrap_err();
    assert!(matches!(err, Error::TicketNotLive { .. }), "{err}");
}

#[tokio::test]
async fn a_running_worker_keeps_queues_moving_when_nobody_calls() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    open_show(e, &show("s1", 1, 1, 1.0, 600.0)).await;
    let sc = scope("s1", "d1");
    let a = e.join(&sc, &buyer("a")).await.unwrap();
    let b = e.join(&sc, &buyer("b")).await.unwrap();
    let w = Worker::start(e.clone(), Some(ably(&s)), "ticker", Duration::from_millis(100));
    // Nobody calls: a's 1 s session ends, b is admitted, and both are told, by the worker alone.
    let mut told = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let turned = s.messages(&ticket_channel(&sc, &b.ticket)).iter().any(|m| m.name == "ticket.your_turn");
        let expired = s.messages(&ticket_channel(&sc, &a.ticket)).iter().any(|m| m.name == "ticket.session_expired");
        if turned && expired {
            told = true;
            break;
        }
    }
    w.stop().await;
    assert!(told, "the worker's housekeeping ended a's session and admitted b");
}

/// An outbox event of a type this version does not know (a newer engine wrote it) goes out under its own
/// name on the public channel with the common fields only: none of its data reaches Ably.
#[tokio::test]
async fn an_unknown_event_type_goes_out_without_its_data() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    let n = Notifier::new(e.clone(), ably(&s), "w1");
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let data = r#"{"at": 5, "secret": "gen-secret-wren", "drain": "seatwise:closing:{s1:d1}:1"}"#;
    let _: String = e
        .redis()
        .query(
            redis::cmd("XADD")
                .arg(seatwise_engine::keys::outbox(&sc))
                .arg("*")
                .arg("type")
                .arg("future_thing")
                .arg("data")
                .arg(data),
        )
        .await
        .unwrap();
    drain_all(&n, e).await;
    let public = s.messages(&queue_channel(&sc));
    let m = public.iter().find(|m| m.name == "queue.future_thing").expect("published under its own name");
    let text = m.data.to_string();
    assert!(!text.contains("gen-secret-wren") && !text.contains("closing"), "{text}");
    assert_eq!(m.data["showScopeId"], "s1:d1");
    assert_eq!(pending(e, &sc).await, 0);
}

/// The admin channel's `show.status_changed` comes from the audit entry written atomically with the change:
/// a console that dies before the queue effects ran (no `result` entry) still has its change announced.
#[tokio::test]
async fn a_status_change_is_announced_even_when_its_effects_never_ran() {
    use seatwise_engine::{Actor, AuditEvent, AuditRecord};
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    let n = Notifier::new(e.clone(), ably(&s), "w1");
    drain_all(&n, e).await; // the admin group starts at the end of the audit stream
    // What show-cas.lua appends with a status change; the console then crashed before writing the result.
    let rec = AuditRecord::now(
        &Actor::new("ann", "box-office"),
        AuditEvent::Status {
            show: ShowId::new("s9").unwrap(),
            from: ShowStatus::Open,
            to: ShowStatus::Closed,
            version: 4,
        },
    );
    let mut xadd = redis::cmd("XADD");
    xadd.arg(seatwise_engine::keys::AUDIT).arg("*");
    for (k, v) in rec.fields() {
        xadd.arg(k).arg(v);
    }
    let _: String = e.redis().query(&xadd).await.unwrap();
    drain_all(&n, e).await;
    let admin = s.messages(seatwise_engine::notify::ADMIN_CHANNEL);
    let change = admin.iter().find(|m| m.name == "show.status_changed").expect("announced from the atomic entry");
    assert_eq!((change.data["show"].as_str(), change.data["to"].as_str()), (Some("s9"), Some("CLOSED")));
    assert_eq!(change.data["version"], 4);
}

/// Ably refuses `queue.paused`; staff resume; the retry must not overtake: the channel gets paused then
/// resumed, in outbox order, each with a `seq` (the outbox id) that grows, so the last event is "resumed".
#[tokio::test]
async fn each_channel_gets_its_events_in_outbox_order_with_a_growing_sequence() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    let n = Notifier::new(e.clone(), ably(&s), "w1");
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let scopes = vec![sc.clone()];
    drain_all(&n, e).await;
    e.pause_queue(&sc).await.unwrap();
    s.fail_channel(&queue_channel(&sc), 1);
    let r = n.cycle(&scopes, &|_| {}).await.unwrap();
    assert_eq!(r.failed, 1);
    e.resume_queue(&sc).await.unwrap();
    drain_all(&n, e).await;
    let public = s.messages(&queue_channel(&sc));
    let names: Vec<&str> = public.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["queue.opened", "queue.paused", "queue.resumed"]);
    let seqs: Vec<(u64, u64)> = public
        .iter()
        .map(|m| {
            let (ms, n) = m.data["seq"].as_str().expect("every event has a seq").split_once('-').unwrap();
            (ms.parse().unwrap(), n.parse().unwrap())
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(s.duplicates(), 0);
}

/// A big closed queue is told a bounded slice per pass, after the live events of every other queue; a
/// repeated pass never sends `queue.closed` again, and the closed events carry the generation.
#[tokio::test]
async fn a_big_drain_shares_each_pass_with_live_events() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    open_show(e, &show("big", 1, 1, 60.0, 600.0)).await;
    open_show(e, &show("live", 1, 5, 60.0, 600.0)).await;
    let big = scope("big", "d1");
    let live = scope("live", "d1");
    fill_queue(e, &big, 3000).await;
    let mut n = Notifier::new(e.clone(), ably(&s), "w1");
    n.config.concurrency = 2;
    let scopes = vec![big.clone(), live.clone()];
    drain_all(&n, e).await;
    e.update_show_status(&ShowId::new("big").unwrap(), ShowStatus::Closed, &actor(), None).await.unwrap();
    let a = e.join(&live, &buyer("a")).await.unwrap();
    let r = n.cycle(&scopes, &|_| {}).await.unwrap();
    assert!(s.messages(&ticket_channel(&live, &a.ticket)).iter().any(|m| m.name == "ticket.your_turn"));
    assert_eq!(r.to_tell, 3000 - 200, "one pass tells at most concurrency × 100 buyers: {r:?}");
    assert_eq!(queue_stats(e, &big).await.to_tell, 2800, "the monitor sees the progress");
    // Ably refuses part of the notices on later passes: the failed ones are retried, nothing twice.
    s.fail_ratio(0.3);
    for _ in 0..200 {
        if n.cycle(&scopes, &|_| {}).await.unwrap().to_tell == 0 && pending(e, &big).await == 0 {
            break;
        }
    }
    s.fail_ratio(0.0);
    drain_all(&n, e).await;
    assert_eq!(pending(e, &big).await, 0);
    let closed: Vec<_> = s.messages(&queue_channel(&big)).into_iter().filter(|m| m.name == "queue.closed").collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].data["generation"], 1);
    let told = s
        .channels()
        .iter()
        .filter(|c| c.starts_with("seatwise:ticket:big:d1:"))
        .flat_map(|c| s.messages(c))
        .filter(|m| m.name == "ticket.queue_closed")
        .inspect(|m| assert_eq!(m.data["generation"], 1))
        .count();
    assert_eq!(told, 3000);
    assert_eq!(s.duplicates(), 0, "a refused notice is not a sent one: nothing went out twice");
}

/// Stopping a worker in the middle of a drain while Ably hangs takes under a second, and the streams are
/// handed over at once: another worker carries on without waiting for a lease to run out.
#[tokio::test]
async fn a_worker_stops_within_a_second_and_hands_over_at_once() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    open_show(e, &show("s1", 1, 1, 60.0, 600.0)).await;
    let sc = scope("s1", "d1");
    fill_queue(e, &sc, 500).await;
    e.update_show_status(&ShowId::new("s1").unwrap(), ShowStatus::Closed, &actor(), None).await.unwrap();
    let w = Worker::start(e.clone(), Some(ably(&s)), "w1", Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..20 {
        s.inject(seatwise_ably_standin::Fault::Hang(Duration::from_secs(10)));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = std::time::Instant::now();
    w.stop().await;
    assert!(t0.elapsed() < Duration::from_secs(1), "stopped in {:?}", t0.elapsed());
    let lease: Option<String> = e
        .redis()
        .query(redis::cmd("GET").arg(seatwise_engine::keys::lease(&seatwise_engine::keys::outbox(&sc))))
        .await
        .unwrap();
    assert_eq!(lease, None, "handed over");
    // Hand-over: the next worker finishes without waiting a lease TTL.
    let w2 = Worker::start(e.clone(), Some(ably(&s)), "w2", Duration::from_millis(50));
    let t1 = std::time::Instant::now();
    while pending(e, &sc).await > 0 {
        assert!(t1.elapsed() < Duration::from_secs(30), "w2 never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w2.stop().await;
}

/// With no worker running the outbox stops growing at its cap: buyers' private events beyond it are counted
/// (the monitor shows them), queue-wide events are still recorded.
#[tokio::test]
async fn the_outbox_is_bounded_and_what_it_could_not_keep_is_counted() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 50, 60.0, 600.0)).await;
    let sc = scope("s1", "d1");
    let meta = &seatwise_engine::keys::queue_keys(&sc)[0];
    let _: i64 = e.redis().query(redis::cmd("HSET").arg(meta).arg("outbox_cap").arg(10)).await.unwrap();
    for i in 0..30 {
        e.join(&sc, &buyer(&format!("b{i}"))).await.unwrap(); // each admitted at once: a your_turn event
    }
    e.pause_queue(&sc).await.unwrap();
    let st = queue_stats(e, &sc).await;
    assert_eq!(st.pending_events, 11, "opened + 9 your_turn up to the cap, then the pause");
    assert_eq!(st.outbox_dropped, 21);
}

/// An idle worker reads the live queues (and those with events left), not every schedule ever created.
#[tokio::test]
async fn an_idle_worker_watches_only_live_queues() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    open_show(e, &show("live", 2, 1, 60.0, 600.0)).await;
    open_show(e, &show("past", 5, 1, 60.0, 600.0)).await;
    e.update_show_status(&ShowId::new("past").unwrap(), ShowStatus::Closed, &actor(), None).await.unwrap();
    let n = Notifier::new(e.clone(), ably(&s), "w1");
    assert_eq!(n.watched_scopes().await.unwrap().len(), 7, "the closed show's events are still to send");
    drain_all(&n, e).await;
    let n2 = Notifier::new(e.clone(), ably(&s), "w2");
    let watched: Vec<String> = n2.watched_scopes().await.unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(watched, ["live:d1", "live:d2"]);
}

/// Redis lost the consumer groups (flushed, or restored from an older backup): the worker's next pass
/// fails with NOGROUP, and the one after creates them again and delivers, rather than failing forever.
#[tokio::test]
async fn a_notifier_recovers_when_redis_lost_its_consumer_groups() {
    let t = start().await;
    let e = &t.engine;
    let s = StandIn::start(Config::default()).await;
    let n = Notifier::new(e.clone(), ably(&s), "w1");
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    drain_all(&n, e).await;
    let _: String = e.redis().query(&redis::cmd("FLUSHALL")).await.unwrap();
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let scopes = vec![sc.clone()];
    let mut ok = false;
    for _ in 0..3 {
        if let Ok(r) = n.cycle(&scopes, &|_| {}).await
            && r.delivered > 0
        {
            ok = true;
            break;
        }
    }
    assert!(ok, "delivering again after the groups were lost");
    assert_eq!(pending(e, &sc).await, 0);
}
