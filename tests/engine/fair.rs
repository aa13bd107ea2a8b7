//! A fair, predictable on-sale: the outflow limit and seat-aware admission, against a real redis-server.

use std::time::{Duration, Instant};

use seatwise_engine::{Actor, QueueState, SeatMap, StaffAction};

use crate::lifecycle::{buyer, seats, tk};
use crate::support::*;

#[tokio::test]
async fn the_outflow_limit_spaces_admissions_and_can_be_changed_live() {
    let t = start().await;
    let e = &t.engine;
    let mut s = show("s1", 1, 1000, 60.0, 120.0);
    s.schedules[0].outflow_per_minute = Some(600); // one every 100 ms, a burst of 10
    open_show(e, &s).await;
    let sc = scope("s1", "d1");
    fill_queue(e, &sc, 300).await;
    let start = Instant::now();
    let mut admitted = 0;
    while start.elapsed() < Duration::from_secs(2) {
        admitted = queue_stats(e, &sc).await.admitted_total;
        let allowed = start.elapsed().as_millis() as u64 / 100 + 10;
        assert!(admitted <= allowed, "{admitted} admitted after {:?} (at most {allowed})", start.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted >= 20, "the queue kept moving at the limit: {admitted}");
    assert_eq!(queue_stats(e, &sc).await.outflow_per_min, 600);
    // Staff lift the limit: everyone left is admitted at the next housekeeping (capacity 1000).
    let actor = Actor::new("staff", "box-office");
    let out = e.perform(&actor, &sc, &StaffAction::Outflow { per_minute: 0 }).await.unwrap();
    assert!(out.message.contains("no outflow limit"), "{}", out.message);
    let st = queue_stats(e, &sc).await;
    assert_eq!((st.queue_size, st.admitted_total, st.outflow_per_min), (0, 300, 0));
    let err = e.perform(&actor, &sc, &StaffAction::Outflow { per_minute: 100_001 }).await.unwrap_err();
    assert!(err.to_string().contains("0 (no limit) to 100000"), "{err}");
}

#[tokio::test]
async fn admission_stops_when_no_seat_is_left_and_resumes_when_one_is_released() {
    let t = start().await;
    let e = &t.engine;
    let mut s = show("s1", 1, 10, 60.0, 120.0);
    s.schedules[0].seat_map = Some(SeatMap { rows: vec!["A".into()], seats_per_row: 3, zones: Vec::new() });
    open_show(e, &s).await;
    let sc = scope("s1", "d1");
    let a = tk(&e.join(&sc, &buyer("a")).await.unwrap().ticket);
    let st = queue_stats(e, &sc).await; // housekeeping admits (seats are left)
    assert_eq!((st.seats_total, st.seats_left, st.active_sessions), (3, 3, 1));
    e.hold(&sc, &a, &seats(&["A1", "A2", "A3"])).await.unwrap();
    let b = tk(&e.join(&sc, &buyer("b")).await.unwrap().ticket);
    let st = queue_stats(e, &sc).await;
    assert_eq!((st.seats_left, st.queue_size, st.active_sessions), (0, 1, 1), "no seat left: b waits");
    assert_eq!(st.likely_sold_out_rank, Some(0), "everyone waiting is told the seats are very likely gone");
    assert_eq!(e.status(&sc, &b).await.unwrap().state, seatwise_engine::TicketState::Waiting);
    // a lets one seat go: b is admitted at the next call.
    e.release(&sc, &a, &seats(&["A3"])).await.unwrap();
    assert_eq!(e.status(&sc, &b).await.unwrap().state, seatwise_engine::TicketState::Admitted);
    // Staff "admit N" overrides the seat count (their call).
    let c = tk(&e.join(&sc, &buyer("c")).await.unwrap().ticket);
    e.hold(&sc, &b, &seats(&["A3"])).await.unwrap();
    assert_eq!(e.status(&sc, &c).await.unwrap().state, seatwise_engine::TicketState::Waiting);
    assert_eq!(e.admit(&sc, 1).await.unwrap(), 1);
    assert_eq!(e.status(&sc, &c).await.unwrap().state, seatwise_engine::TicketState::Admitted);
}

#[tokio::test]
async fn a_pre_queue_is_admitted_in_the_drawn_order_which_anyone_can_recompute() {
    use seatwise_engine::TicketState;
    use seatwise_engine::draw::{commitment, seq_at};
    use seatwise_engine::queue::QueueEffect;
    let t = start().await;
    let e = &t.engine;
    let s = show("s1", 1, 1, 60.0, 120.0);
    e.create_show(&s, &actor()).await.unwrap();
    let sc = scope("s1", "d1");
    let settings = s.schedules[0].settings();
    assert!(matches!(e.open_prequeue(&sc, &settings, None).await.unwrap(), QueueEffect::PreQueueOpened { .. }));
    let mut tickets = vec![String::new()]; // by seq, from 1
    for i in 0..50 {
        let st = e.join(&sc, &buyer(&format!("pre-{i}"))).await.unwrap();
        assert!(st.prequeue && st.state == TicketState::Waiting, "{st:?}");
        tickets.push(st.ticket);
    }
    let before = queue_stats(e, &sc).await;
    assert_eq!((before.state, before.active_sessions), (QueueState::Prequeue, 0), "nobody admitted before the opening");
    assert_eq!(before.draw_commit.len(), 64);
    assert!(before.draw_seed.is_empty(), "the seed stays secret until the opening");
    // The opening draws the order; a late buyer queues behind the whole pre-queue.
    assert!(matches!(e.open_queue(&sc, &settings).await.unwrap(), QueueEffect::Drawn { .. }));
    let after = queue_stats(e, &sc).await;
    assert_eq!(commitment(&after.draw_seed), before.draw_commit, "the revealed seed is the committed one");
    assert_eq!(after.draw_count, 50);
    let late = e.join(&sc, &buyer("late")).await.unwrap();
    assert_eq!(late.rank, 50, "behind the 49 pre-queue buyers still waiting: {late:?}");
    let expected: Vec<u64> = (1..=50).map(|p| seq_at(&after.draw_seed, 50, p)).collect();
    assert_ne!(expected, (1..=50).collect::<Vec<_>>(), "not arrival order");
    for (place, seq) in expected.iter().chain([51].iter()).enumerate() {
        let tk_ = tk(if *seq == 51 { &late.ticket } else { &tickets[*seq as usize] });
        let st = e.status(&sc, &tk_).await.unwrap();
        assert_eq!(st.state, TicketState::Admitted, "place {}: ticket {seq} should be admitted now", place + 1);
        e.leave(&sc, &tk_).await.unwrap();
    }
    let check = e.verify_draw(&sc).await.unwrap();
    assert_eq!((check.tickets, check.first.clone()), (50, expected[..10].to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_pre_queue_and_opening_happen_once_with_three_workers_racing() {
    use seatwise_engine::notify::Worker;
    use seatwise_engine::{AuditEvent, ShowStatus};
    let t = start().await;
    let e = &t.engine;
    let now = chrono::Utc::now();
    let mut s = show("s1", 2, 1, 60.0, 120.0);
    s.pre_queue_opens_at = Some((now - chrono::Duration::seconds(1)).to_rfc3339());
    s.sale_opens_at = Some((now + chrono::Duration::seconds(3)).to_rfc3339());
    e.create_show(&s, &actor()).await.unwrap();
    e.update_show_status(&s.id, ShowStatus::Upcoming, &actor(), None).await.unwrap();
    let workers: Vec<Worker> =
        (0..3).map(|i| Worker::start(e.clone(), None, &format!("w{i}"), Duration::from_millis(50))).collect();
    let sc = scope("s1", "d1");
    let t0 = Instant::now();
    while queue_stats(e, &sc).await.state != QueueState::Prequeue {
        assert!(t0.elapsed() < Duration::from_secs(3), "the pre-queue did not open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for i in 0..20 {
        assert!(e.join(&sc, &buyer(&format!("b{i}"))).await.unwrap().prequeue);
    }
    while e.get_show(&s.id).await.unwrap().status != ShowStatus::Open {
        assert!(t0.elapsed() < Duration::from_secs(8), "the sale did not open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let opened_late = chrono::Utc::now() - now - chrono::Duration::seconds(3);
    assert!(opened_late < chrono::Duration::milliseconds(2000), "opened {opened_late} late");
    tokio::time::sleep(Duration::from_millis(1500)).await; // every worker had its chance to open it again
    for w in workers {
        w.stop().await;
    }
    let log = e.audit_log(100, Some(&s.id)).await.unwrap();
    let by_scheduler =
        |f: &dyn Fn(&AuditEvent) -> bool| log.iter().filter(|r| r.user == "scheduler" && f(&r.event)).count();
    assert_eq!(by_scheduler(&|ev| matches!(ev, AuditEvent::Status { to: ShowStatus::Open, .. })), 1, "{log:#?}");
    assert_eq!(by_scheduler(&|ev| matches!(ev, AuditEvent::Action { action, .. } if action == "prequeue")), 2);
    let st = queue_stats(e, &sc).await;
    assert_eq!((st.state, st.draw_count, st.active_sessions), (QueueState::Open, 20, 1));
    assert_eq!(e.verify_draw(&sc).await.unwrap().tickets, 20);
}

/// The wait estimate: what a sampled buyer is shown at join (recorded in Redis) is the p50 the gateway
/// computes from the same figures, and once sampled buyers are admitted the queue reports the median
/// error of what they were shown against the wait they had. Admissions here come at a steady pace (one
/// every 20 ms, one session at a time), so the measured estimate must be close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_estimates_are_recorded_at_join_and_their_error_is_reported() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let est = &seatwise_engine::keys::queue_keys(&sc)[9];
    let mut tickets = std::collections::VecDeque::new();
    // One ticket in 64 is sampled: 63 buyers, then ten admissions at the pace, before the first sampled
    // ticket (seq 64) joins.
    for i in 1..=63 {
        tickets.push_back(tk(&e.join(&sc, &buyer(&format!("b{i}"))).await.unwrap().ticket));
    }
    let pace = Duration::from_millis(20);
    let sc_ = &sc;
    let next = |tickets: &mut std::collections::VecDeque<seatwise_engine::Ticket>| {
        let t = tickets.pop_front().unwrap();
        async move { e.leave(sc_, &t).await.unwrap() }
    };
    for _ in 0..10 {
        tokio::time::sleep(pace).await;
        next(&mut tickets).await;
    }
    let before = queue_stats(e, &sc).await;
    assert!(
        (15..=40).contains(&before.ms_per_admission),
        "measured {} ms per admission at one per 20 ms",
        before.ms_per_admission
    );
    assert_eq!(before.estimate_error_pct, None, "nothing scored yet");
    for i in 64..=384 {
        let j = e.join(&sc, &buyer(&format!("b{i}"))).await.unwrap();
        if i == 64 {
            // The estimate recorded for the sampled ticket is the p50 the stats give for its rank.
            let shown: String = e.redis().query(redis::cmd("HGET").arg(est).arg("j64")).await.unwrap();
            let p50: u64 = shown.split(':').nth(1).unwrap().parse().unwrap();
            let now = queue_stats(e, &sc).await;
            assert_eq!(p50, now.eta_range(j.rank).p50_ms, "recorded {shown}, rank {}", j.rank);
        }
        tickets.push_back(tk(&j.ticket));
    }
    // Everyone waits their turn at the same pace (the abandonment window, 120 s, outlasts the test).
    while tickets.len() > 1 {
        tokio::time::sleep(pace).await;
        next(&mut tickets).await;
    }
    let after = queue_stats(e, &sc).await;
    assert!(after.estimate_samples >= 5, "samples scored: {}", after.estimate_samples);
    let err = after.estimate_error_pct.expect("an error is reported");
    assert!(err < 25.0, "median error {err} % at a steady pace");
    assert!(after.admissions_per_min >= 300, "{} admissions counted in the last minute", after.admissions_per_min);
}
