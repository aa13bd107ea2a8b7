//! The outbox worker against the Ably stand-in: every buyer told, ids unchanged across retries, nothing
//! lost when Ably fails or a worker dies mid-drain and another takes over.

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
    w1.concurrency = 1;
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
    assert!(told > 0 && told < 1000, "{told}");
    // Worker 2 takes the event over once it has been idle long enough.
    let mut w2 = Notifier::new(e.clone(), ably(&s), "w2");
    w2.claim_idle = Duration::from_millis(300);
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
    assert_eq!(w.report().state, "ably_not_configured");
    assert_eq!(pending(e, &scope("s1", "d1")).await, 2);
    assert_eq!(w.stop().await.state, "stopped");
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
