//! Shows, the status transition table and its queue effects, compare-and-set and the audit log.

use std::collections::HashMap;

use seatwise_engine::ShowStatus::{self, *};
use seatwise_engine::shows::parse_shows_file;
use seatwise_engine::{Error, Show, ShowId, Ticket, TicketState};

use crate::lifecycle::buyer;
use crate::support::*;

fn id(s: &str) -> ShowId {
    ShowId::new(s).unwrap()
}

/// A legal path from DRAFT to each status.
fn path_to(s: ShowStatus) -> Vec<ShowStatus> {
    match s {
        Draft => vec![],
        Upcoming => vec![Upcoming],
        Open => vec![Open],
        OnGoing => vec![Open, OnGoing],
        Postponed => vec![Open, Postponed],
        Closed => vec![Open, Closed],
        Cancelled => vec![Cancelled],
    }
}

#[tokio::test]
async fn every_transition_follows_the_table() {
    let t = start().await;
    let e = &t.engine;
    for from in ShowStatus::ALL {
        for to in ShowStatus::ALL {
            let sid = format!("t-{}-{}", from.as_str(), to.as_str()).to_lowercase();
            e.create_show(&show(&sid, 2, 5, 60.0, 120.0), &actor()).await.unwrap();
            for step in path_to(from) {
                e.update_show_status(&id(&sid), step, &actor(), None).await.unwrap();
            }
            let r = e.update_show_status(&id(&sid), to, &actor(), None).await;
            if from.can_become(to) {
                let r = r.unwrap_or_else(|e| panic!("{from} → {to}: {e}"));
                assert!(r.success, "{from} → {to}: {r:?}");
                assert_eq!(r.show.status, to);
                assert_eq!(r.queue_results.len(), 2);
            } else {
                let err = r.expect_err(&format!("{from} → {to} must be refused"));
                let msg = err.to_string();
                assert!(matches!(err, Error::IllegalTransition { .. }), "{msg}");
                for allowed in from.allowed_targets() {
                    assert!(msg.contains(allowed.as_str()), "{msg} names {allowed}");
                }
                assert_eq!(e.get_show(&id(&sid)).await.unwrap().status, from, "nothing changed");
            }
        }
    }
}

#[tokio::test]
async fn status_effects_on_every_schedule() {
    let t = start().await;
    let e = &t.engine;
    let sid = id("s1");
    open_show(e, &show("s1", 3, 1, 60.0, 120.0)).await;
    let scs: Vec<_> = (1..=3).map(|i| scope("s1", &format!("d{i}"))).collect();
    let stats =
        |v: Vec<Result<seatwise_engine::QueueStats, Error>>| v.into_iter().map(|r| r.unwrap()).collect::<Vec<_>>();
    assert!(
        stats(e.queue_stats(&scs).await.unwrap())
            .iter()
            .all(|s| s.state == seatwise_engine::QueueState::Open && s.avg_service_ms == 60_000)
    );
    let tickets: Vec<Ticket> = {
        let mut v = Vec::new();
        for i in 0..3 {
            v.push(Ticket::parse(&e.join(&scs[0], &buyer(&format!("b{i}"))).await.unwrap().ticket).unwrap());
        }
        v
    };
    // Re-applying OPEN is idempotent: nobody dropped, the sequence kept.
    let r = e.update_show_status(&sid, Open, &actor(), None).await.unwrap();
    assert!(r.queue_results.iter().all(|q| q.message.contains("already open")), "{r:?}");
    assert_eq!(e.status(&scs[0], &tickets[2]).await.unwrap().rank, 2);
    // ON_GOING leaves queues as they are.
    let r = e.update_show_status(&sid, OnGoing, &actor(), None).await.unwrap();
    assert!(r.queue_results.iter().all(|q| q.message == "queue left as it is"));
    // POSTPONED pauses: places kept, joins allowed.
    let r = e.update_show_status(&sid, Postponed, &actor(), None).await.unwrap();
    assert!(r.queue_results.iter().all(|q| q.message.starts_with("queue paused")), "{r:?}");
    assert!(e.join(&scs[0], &buyer("late")).await.unwrap().paused);
    // Reopening resumes with everyone in place.
    let r = e.update_show_status(&sid, Open, &actor(), None).await.unwrap();
    assert!(r.queue_results.iter().all(|q| q.message.starts_with("queue resumed")), "{r:?}");
    assert_eq!(e.status(&scs[0], &tickets[2]).await.unwrap().rank, 2);
    // CLOSED closes; reopening gives a fresh queue.
    let r = e.update_show_status(&sid, Closed, &actor(), None).await.unwrap();
    assert_eq!(r.queue_results[0].message, "queue closed; 4 buyers will be told");
    assert_eq!(r.queue_results[1].message, "queue closed; 0 buyers will be told");
    let r = e.update_show_status(&sid, Open, &actor(), None).await.unwrap();
    assert!(
        r.queue_results
            .iter()
            .all(|q| q.message == "queue opened again, as a new queue: tickets from before it closed no longer count"),
        "{r:?}"
    );
    let s = stats(e.queue_stats(&scs).await.unwrap());
    assert_eq!((s[0].queue_size, s[0].tickets_issued, s[0].generation), (0, 0, 2));
    assert_eq!(e.status(&scs[0], &tickets[0]).await.unwrap().state, TicketState::Closed);
    // The design guide's result shape.
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["success"], true);
    assert_eq!(j["queueResults"][0]["showScopeId"], "s1:d1");
    assert!(j["message"].as_str().unwrap().contains("CLOSED → OPEN"));
}

#[tokio::test]
async fn two_consoles_racing_exactly_one_wins() {
    let t = start().await;
    let e = &t.engine;
    for round in 0..10 {
        let sid = format!("race{round}");
        open_show(e, &show(&sid, 2, 5, 60.0, 120.0)).await;
        let v = e.get_show(&id(&sid)).await.unwrap().version;
        // Two consoles: each its own connection, both having read version v.
        let console = |to| {
            let (url, sid) = (t.server.url(), sid.clone());
            tokio::spawn(async move {
                let redis = seatwise_engine::Redis::connect(&seatwise_engine::ConnectOptions::new(
                    seatwise_engine::Target::Url(url),
                ))
                .await
                .unwrap();
                seatwise_engine::Engine::new(redis).update_show_status(&id(&sid), to, &actor(), Some(v)).await
            })
        };
        let (a, b) = (console(Closed), console(Postponed));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let (win, lose) = match (a, b) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            (a, b) => panic!("exactly one must win: {a:?} / {b:?}"),
        };
        match lose {
            Error::Conflict { current, version, .. } => {
                assert_eq!(current, win.show.status, "the loser learns the current status");
                assert_eq!(version, v + 1);
            }
            other => panic!("expected a conflict, got {other}"),
        }
    }
    // A stale expected version is a conflict too, and changes nothing.
    let err = e.update_show_status(&id("race0"), Open, &actor(), Some(1)).await.unwrap_err();
    assert!(err.to_string().contains("changed by someone else"), "{err}");
}

#[tokio::test]
async fn every_change_is_audited_with_who_and_results() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 2, 5, 60.0, 120.0)).await;
    e.update_show_status(&id("s1"), Closed, &actor(), None).await.unwrap();
    let log = e.audit_log(10, Some(&id("s1"))).await.unwrap();
    use seatwise_engine::AuditEvent;
    let kinds: Vec<(&str, ShowStatus, ShowStatus)> = log
        .iter()
        .map(|a| match &a.event {
            AuditEvent::Result { from, to, .. } => ("result", *from, *to),
            AuditEvent::Status { from, to, .. } => ("status", *from, *to),
            AuditEvent::Create { status, .. } => ("create", *status, *status),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("result", Open, Closed),
            ("status", Open, Closed),
            ("result", Draft, Open),
            ("status", Draft, Open),
            ("create", Draft, Draft),
        ]
    );
    let latest = &log[0];
    assert_eq!((latest.user.as_str(), latest.host.as_str()), ("tester", "test-host"));
    let AuditEvent::Result { results, success, .. } = &latest.event else { panic!("{latest:?}") };
    assert!(success);
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].show_scope_id, "s1:d1");
    // The effect is stored as data, not only as prose.
    assert!(matches!(results[0].effect, Some(seatwise_engine::queue::QueueEffect::Closed { .. })), "{results:?}");
    assert!(!latest.at.is_empty());
    // The UI and `--json` receive the record flat, tagged by its kind.
    let j = serde_json::to_value(latest).unwrap();
    assert_eq!(
        (j["kind"].as_str(), j["show"].as_str(), j["to"].as_str()),
        (Some("result"), Some("s1"), Some("CLOSED"))
    );
}

#[tokio::test]
async fn shows_create_update_import_export() {
    let t = start().await;
    let e = &t.engine;
    let s = e.create_show(&show("s1", 2, 5, 60.0, 120.0), &actor()).await.unwrap();
    assert_eq!((s.version, s.status), (1, Draft));
    assert!(matches!(e.create_show(&show("s1", 1, 5, 60.0, 120.0), &actor()).await.unwrap_err(), Error::ShowExists(_)));
    let mut open = show("s2", 1, 5, 60.0, 120.0);
    open.status = Open;
    assert!(e.create_show(&open, &actor()).await.unwrap_err().to_string().contains("DRAFT or UPCOMING"));
    // Update with the right version works; a stale one is a conflict.
    let mut edit = s.clone();
    edit.name = "Renamed".into();
    let edited = e.update_show(&edit, 1, &actor()).await.unwrap();
    assert_eq!((edited.version, edited.name.as_str()), (2, "Renamed"));
    assert!(matches!(e.update_show(&edit, 1, &actor()).await.unwrap_err(), Error::Conflict { .. }));
    // While queues are live a schedule cannot be removed.
    e.update_show_status(&id("s1"), Open, &actor(), None).await.unwrap();
    let mut fewer = e.get_show(&id("s1")).await.unwrap();
    let v = fewer.version;
    fewer.schedules.pop();
    let err = e.update_show(&fewer, v, &actor()).await.unwrap_err();
    assert!(err.to_string().contains("close the show before removing it"), "{err}");
    // Export, then import into a fresh server: same shows (as DRAFT where they were live).
    let text = e.export_shows().await.unwrap();
    let parsed = parse_shows_file("export.json", &text).unwrap();
    let t2 = start().await;
    let out = t2.engine.import_shows(&parsed, &actor()).await.unwrap();
    assert!(out[0].action.starts_with("created as DRAFT"), "{out:?}");
    let again = t2.engine.import_shows(&parsed, &actor()).await.unwrap();
    assert_eq!(again[0].action, "unchanged");
    let names: HashMap<String, String> =
        t2.engine.list_shows().await.unwrap().into_iter().map(|s| (s.id.to_string(), s.name)).collect();
    assert_eq!(names["s1"], "Renamed");
    // A broken file says what was expected.
    let err = parse_shows_file("bad.json", "{\"shows\": [{\"id\": \"x\"}]}").unwrap_err();
    assert!(err.to_string().contains("bad.json") && err.to_string().contains("schedules"), "{err}");
    let err = parse_shows_file(
        "bad.json",
        "{\"shows\": [{\"id\": \"x y\", \"name\": \"n\", \"venue\": \"v\", \"schedules\": []}]}",
    )
    .unwrap_err();
    assert!(err.to_string().contains("1 to 64 characters"), "{err}");
}

#[tokio::test]
async fn schedules_added_on_sale_open_and_removed_ones_wait_for_their_notices() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let mut s = e.get_show(&id("s1")).await.unwrap();
    let mut extra = s.schedules[0].clone();
    extra.id = seatwise_engine::SchedId::new("d9").unwrap();
    s.schedules.push(extra);
    let s = e.update_show(&s, s.version, &actor()).await.unwrap();
    assert_eq!(
        queue_stats(e, &scope("s1", "d9")).await.state,
        seatwise_engine::QueueState::Open,
        "a schedule added to an OPEN show gets its queue"
    );
    e.join(&scope("s1", "d9"), &crate::lifecycle::buyer("b")).await.unwrap();
    e.update_show_status(&id("s1"), Closed, &actor(), None).await.unwrap();
    let mut fewer = e.get_show(&id("s1")).await.unwrap();
    let v = fewer.version;
    fewer.schedules.retain(|x| x.id != *"d9");
    let err = e.update_show(&fewer, v, &actor()).await.unwrap_err();
    assert!(err.to_string().contains("notifications to send"), "{err}");
    let _ = s;
}

/// Simulated buyers book seats, so they only ever touch demo shows: a shows file cannot make one, the demo
/// never edits a real show that happens to use a demo id, and the simulator refuses real queues.
#[tokio::test]
async fn simulated_buyers_never_touch_a_real_show() {
    use seatwise_engine::sandbox::simulate_live;
    use seatwise_engine::sim::SimConfig;
    let t = start().await;
    let e = &t.engine;
    // A file cannot mark a show as a demo show.
    let err = parse_shows_file("f.json", r#"{"shows":[{"id":"x","name":"X","venue":"V","demo":true,"schedules":[]}]}"#)
        .unwrap_err();
    assert!(err.to_string().contains("only by the local sandbox"), "{err}");
    // A real, open show whose id is a demo id: the demo refuses and leaves it exactly as it was.
    let mut real = show("hamlet-2026", 1, 5, 60.0, 120.0);
    real.name = "Hamlet (the real run)".into();
    open_show(e, &real).await;
    let before = e.get_show(&id("hamlet-2026")).await.unwrap();
    let err = e.open_demo_shows(&actor()).await.unwrap_err();
    assert!(err.to_string().contains("not a demo show"), "{err}");
    assert_eq!(e.get_show(&id("hamlet-2026")).await.unwrap(), before);
    // Real open queues are never simulation targets, named or not.
    open_show(e, &show("s1", 2, 5, 60.0, 120.0)).await;
    assert!(e.demo_scopes(&[]).await.unwrap().is_empty());
    let err = e.demo_scopes(&[id("s1")]).await.unwrap_err();
    assert!(err.to_string().contains("only ever use demo shows"), "{err}");
    let cfg = SimConfig { scopes: vec![scope("s1", "d1")], ..Default::default() };
    let err = simulate_live(e, cfg).await.err().expect("refused");
    assert!(err.to_string().contains("real seats"), "{err}");
    assert_eq!(queue_stats(e, &scope("s1", "d1")).await.queue_size, 0, "no buyer joined");
    // An edit or an import never turns a real show into a demo show.
    let mut edited = e.get_show(&id("s1")).await.unwrap();
    edited.demo = true;
    let after = e.update_show(&edited, edited.version, &actor()).await.unwrap();
    assert!(!after.demo && !e.get_show(&id("s1")).await.unwrap().demo);
    let err = e.create_show(&Show { demo: true, ..show("fake-demo", 1, 5, 60.0, 120.0) }, &actor()).await.unwrap_err();
    assert!(err.to_string().contains("only by the local sandbox"), "{err}");
}

/// Session and abandonment windows shorter than a buyer needs are refused with the reason, before anything
/// is written (0.1 s was accepted, and dropped every waiting buyer between two check-ins).
#[tokio::test]
async fn windows_shorter_than_buyers_need_are_refused_with_the_reason() {
    let t = start().await;
    let e = &t.engine;
    for (session, abandon, what, why) in [
        (0.1, 120.0, "session length", "at least a minute"),
        (59.0, 120.0, "session length", "60 to 86400"),
        (600.0, 0.1, "presence window", "check in every 2 to 10 seconds"),
        (600.0, 29.0, "presence window", "30 to 86400"),
    ] {
        let err = e.create_show(&show("short", 1, 1, session, abandon), &actor()).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains(what) && text.contains(why), "{text}");
        assert_eq!(err.code(), seatwise_engine::ErrorCode::Invalid);
    }
    assert!(e.list_shows().await.unwrap().is_empty(), "nothing written");
    e.create_show(&show("ok", 1, 1, 60.0, 30.0), &actor()).await.unwrap();
}
