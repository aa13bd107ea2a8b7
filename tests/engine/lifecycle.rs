//! The buyer lifecycle, one script at a time, against a real redis-server.

use std::time::Duration;

use seatwise_engine::{BuyerId, Engine, Error, Scope, SeatId, ShowId, ShowStatus, Ticket, TicketState};

use crate::support::*;

pub fn buyer(s: &str) -> BuyerId {
    BuyerId::new(s).unwrap()
}

pub fn seats(v: &[&str]) -> Vec<SeatId> {
    v.iter().map(|s| SeatId::new(s).unwrap()).collect()
}

pub fn tk(s: &str) -> Ticket {
    Ticket::parse(s).unwrap()
}

/// The outbox events of a queue as (type, ticket) pairs, oldest first.
pub async fn outbox(e: &seatwise_engine::Engine, sc: &Scope) -> Vec<(String, String)> {
    let raw: Vec<(String, Vec<(String, String)>)> =
        e.redis().query(redis::cmd("XRANGE").arg(seatwise_engine::keys::outbox(sc)).arg("-").arg("+")).await.unwrap();
    raw.into_iter()
        .map(|(_, kv)| {
            let get = |k: &str| kv.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone()).unwrap_or_default();
            (get("type"), get("ticket"))
        })
        .collect()
}

#[tokio::test]
async fn join_admit_hold_complete_then_the_next_buyer_is_admitted() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = e.join(&sc, &buyer("alice")).await.unwrap();
    assert_eq!(a.state, TicketState::Admitted, "{a:?}");
    assert!(a.expires_at_ms.is_some());
    let b = e.join(&sc, &buyer("bob")).await.unwrap();
    assert_eq!((b.state, b.rank, b.eta_ms), (TicketState::Waiting, 1, 60_000), "{b:?}");
    let held = e.hold(&sc, &tk(&a.ticket), &seats(&["A1", "A2"])).await.unwrap();
    assert_eq!(held.seats, vec!["A1", "A2"]);
    assert_eq!(e.complete(&sc, &tk(&a.ticket)).await.unwrap(), vec!["A1", "A2"]);
    assert_eq!(e.status(&sc, &tk(&a.ticket)).await.unwrap().state, TicketState::Completed);
    // Completing freed the slot: bob was admitted in the same step.
    assert_eq!(e.status(&sc, &tk(&b.ticket)).await.unwrap().state, TicketState::Admitted);
    let err = e.hold(&sc, &tk(&b.ticket), &seats(&["A2"])).await.unwrap_err();
    assert!(matches!(&err, Error::SeatsTaken(s) if s == &vec!["A2".to_string()]), "{err}");
    let events: Vec<String> = outbox(e, &sc).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(events, vec!["queue_opened", "your_turn", "your_turn"]);
}

#[tokio::test]
async fn the_same_buyer_joining_twice_gets_the_same_ticket_only_with_proof() {
    use seatwise_engine::JoinProof;
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    e.join(&sc, &buyer("first")).await.unwrap();
    let a1 = e.join(&sc, &buyer("ann")).await.unwrap();
    let b1 = e.join(&sc, &buyer("ben")).await.unwrap();
    // Someone who only knows ann's buyer id (an email, say) learns nothing of her ticket.
    let err = e.join(&sc, &buyer("ann")).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyQueued { .. }), "{err}");
    assert!(!err.to_string().contains(&a1.ticket), "{err}");
    let wrong = tk(&b1.ticket);
    let err = e.join_with_proof(&sc, &buyer("ann"), JoinProof::Ticket(&wrong)).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyQueued { .. }), "{err}");
    // Her own client presents the ticket; the venue's server vouches for her: the same ticket either way.
    let a2 = e.join_with_proof(&sc, &buyer("ann"), JoinProof::Ticket(&tk(&a1.ticket))).await.unwrap();
    assert_eq!(a1.ticket, a2.ticket);
    assert_eq!(e.join_with_proof(&sc, &buyer("ann"), JoinProof::Trusted).await.unwrap().ticket, a1.ticket);
    assert_eq!((a2.rank, b1.rank), (1, 2));
    let stats = queue_stats(e, &sc).await;
    assert_eq!((stats.queue_size, stats.tickets_issued), (2, 3));
    // After leaving, joining again gives a new ticket at the back.
    e.leave(&sc, &tk(&a1.ticket)).await.unwrap();
    let a3 = e.join(&sc, &buyer("ann")).await.unwrap();
    assert_ne!(a3.ticket, a1.ticket);
    assert_eq!(a3.rank, 2);
}

#[tokio::test]
async fn joining_a_queue_that_is_not_open_fails_clearly() {
    let t = start().await;
    let e = &t.engine;
    let err = e.join(&scope("nosuch", "d1"), &buyer("x")).await.unwrap_err();
    assert!(matches!(err, Error::NoQueue(_)), "{err}");
    assert!(err.to_string().contains("OPEN"), "{err}");
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    e.update_show_status(&ShowId::new("s1").unwrap(), ShowStatus::Closed, &actor(), None).await.unwrap();
    let err = e.join(&scope("s1", "d1"), &buyer("x")).await.unwrap_err();
    assert!(matches!(err, Error::QueueClosed(_)), "{err}");
}

#[tokio::test]
async fn ranks_and_eta_follow_the_queue() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    e.join(&sc, &buyer("head")).await.unwrap();
    let tickets: Vec<_> = futures_join(e, &sc, 5).await;
    for (i, t) in tickets.iter().enumerate() {
        assert_eq!(t.rank, i as u64 + 1);
        assert_eq!(t.eta_ms, (i as u64 + 1) * 60_000, "ETA = rank × avgServiceMs");
    }
    e.leave(&sc, &tk(&tickets[1].ticket)).await.unwrap();
    let s = e.status(&sc, &tk(&tickets[4].ticket)).await.unwrap();
    assert_eq!((s.state, s.rank), (TicketState::Waiting, 4));
    assert_eq!(e.leave(&sc, &tk(&tickets[1].ticket)).await.unwrap(), TicketState::Left, "leaving twice is harmless");
}

async fn futures_join(e: &seatwise_engine::Engine, sc: &Scope, n: usize) -> Vec<seatwise_engine::TicketStatus> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(e.join(sc, &buyer(&format!("b{i}"))).await.unwrap());
    }
    v
}

#[tokio::test]
async fn tickets_cannot_be_forged_or_mistyped() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = tk(&e.join(&sc, &buyer("a")).await.unwrap().ticket);
    let forged = Ticket { tag: "0000000000000000".into(), ..a.clone() };
    assert!(matches!(e.status(&sc, &forged).await.unwrap_err(), Error::UnknownTicket { .. }));
    let beyond = Ticket { seq: 99, ..a.clone() };
    assert!(matches!(e.status(&sc, &beyond).await.unwrap_err(), Error::UnknownTicket { .. }));
    let other_gen = Ticket { generation: a.generation + 1, ..a.clone() };
    assert_eq!(e.status(&sc, &other_gen).await.unwrap().state, TicketState::Closed);
    assert!(Ticket::parse("1.2").unwrap_err().to_string().contains("16 hex digits"));
    assert!(Scope::parse("a:b{c}").is_err());
}

/// Places are kept without polling while others are ahead (a phone locked for longer than the presence
/// window keeps its place): presence is asked for only at the front.
#[tokio::test]
async fn a_buyer_who_stops_polling_far_back_keeps_their_place() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 1.0)).await;
    let sc = scope("s1", "d1");
    e.join(&sc, &buyer("admitted")).await.unwrap();
    let quiet = tk(&e.join(&sc, &buyer("quiet")).await.unwrap().ticket);
    let polls = tk(&e.join(&sc, &buyer("polls")).await.unwrap().ticket);
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        e.status(&sc, &polls).await.unwrap();
    }
    let s = queue_stats(e, &sc).await;
    assert_eq!((s.queue_size, s.abandoned_total, s.missed_now), (2, 0, 0), "{s:?}");
    let st = e.status(&sc, &quiet).await.unwrap();
    assert_eq!((st.state, st.rank), (TicketState::Waiting, 1), "the quiet buyer is still first");
}

/// The buyer at the front who is not there misses their turn (the next one is admitted, admission never
/// sticks); coming back within the grace window puts them ahead of the line, to be admitted at the next
/// free slot; after it, they are told their turn is lost (abandoned).
#[tokio::test]
async fn a_missed_turn_can_be_claimed_back_within_the_grace_window() {
    let t = start().await;
    let e = &t.engine;
    let mut sh = show("s1", 1, 1, 60.0, 1.0);
    sh.schedules[0].grace_seconds = Some(2.0);
    open_show(e, &sh).await;
    let sc = scope("s1", "d1");
    let first = tk(&e.join(&sc, &buyer("first")).await.unwrap().ticket);
    let away: Vec<Ticket> = join_named(e, &sc, &["away0", "away1", "away2"]).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let live = tk(&e.join(&sc, &buyer("live")).await.unwrap().ticket);
    let next = tk(&e.join(&sc, &buyer("next")).await.unwrap().ticket);
    // The slot frees: the three at the head are not there, so they miss their turn and `live` is admitted.
    e.leave(&sc, &first).await.unwrap();
    assert_eq!(e.status(&sc, &live).await.unwrap().state, TicketState::Admitted);
    let s = queue_stats(e, &sc).await;
    assert_eq!((s.queue_size, s.missed_now, s.missed_total, s.abandoned_total), (1, 3, 3, 0), "{s:?}");
    // away0 comes back (a status call): ahead of `next`, shown as waiting first.
    let back = e.status(&sc, &away[0]).await.unwrap();
    assert_eq!((back.state, back.rank, back.returned), (TicketState::Waiting, 1, true), "{back:?}");
    assert_eq!(e.status(&sc, &next).await.unwrap().rank, 2, "the buyer back goes ahead of the line");
    // away1 comes back by joining again with its ticket (a reload that lost the page's state).
    let again = e.join_with_proof(&sc, &buyer("away1"), seatwise_engine::JoinProof::Ticket(&away[1])).await.unwrap();
    assert_eq!((again.ticket.as_str(), again.rank), (away[1].to_string().as_str(), 2));
    // The next free slot goes to the earliest back.
    e.leave(&sc, &live).await.unwrap();
    assert_eq!(e.status(&sc, &away[0]).await.unwrap().state, TicketState::Admitted);
    // away2 never came back: after the grace window the turn is lost, counted as abandoned.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(e.status(&sc, &away[2]).await.unwrap().state, TicketState::Abandoned);
    let s = queue_stats(e, &sc).await;
    assert_eq!((s.missed_now, s.returned_now, s.abandoned_total), (0, 1, 1), "{s:?}");
    // Leaving while back gives the place up like any waiting buyer.
    assert_eq!(e.leave(&sc, &away[1]).await.unwrap(), TicketState::Waiting);
    assert_eq!(queue_stats(e, &sc).await.queue_size, 1, "only `next` waits");
}

async fn join_named(e: &Engine, sc: &Scope, names: &[&str]) -> Vec<Ticket> {
    let mut out = Vec::new();
    for n in names {
        out.push(tk(&e.join(sc, &buyer(n)).await.unwrap().ticket));
    }
    out
}

#[tokio::test]
async fn an_expired_session_releases_its_holds_and_admits_the_next() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 1.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = tk(&e.join(&sc, &buyer("a")).await.unwrap().ticket);
    let b = tk(&e.join(&sc, &buyer("b")).await.unwrap().ticket);
    e.hold(&sc, &a, &seats(&["C1", "C2"])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(matches!(e.complete(&sc, &a).await.unwrap_err(), Error::NoSession(_)), "an expired session cannot book");
    let sb = e.status(&sc, &b).await.unwrap();
    assert_eq!(sb.state, TicketState::Admitted);
    assert_eq!(e.status(&sc, &a).await.unwrap().state, TicketState::Expired);
    // a's holds were released: b can take the same seats.
    assert_eq!(e.hold(&sc, &b, &seats(&["C1", "C2"])).await.unwrap().seats, vec!["C1", "C2"]);
    let s = queue_stats(e, &sc).await;
    assert_eq!(s.expired_total, 1);
    let events = outbox(e, &sc).await;
    assert!(events.contains(&("session_expired".to_string(), a.to_string())), "{events:?}");
}

#[tokio::test]
async fn holds_are_all_or_nothing_and_bounded() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 2, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = tk(&e.join(&sc, &buyer("a")).await.unwrap().ticket);
    let b = tk(&e.join(&sc, &buyer("b")).await.unwrap().ticket);
    let w = tk(&e.join(&sc, &buyer("waiting")).await.unwrap().ticket);
    e.hold(&sc, &a, &seats(&["A1", "A2"])).await.unwrap();
    let err = e.hold(&sc, &b, &seats(&["A2", "A3"])).await.unwrap_err();
    assert!(matches!(&err, Error::SeatsTaken(s) if s == &vec!["A2".to_string()]), "{err}");
    // Nothing of the failed hold was applied: A3 is still free.
    assert_eq!(e.hold(&sc, &b, &seats(&["A3"])).await.unwrap().seats, vec!["A3"]);
    // Holding again what one already holds is fine; more than max_seats (4) is not.
    assert_eq!(e.hold(&sc, &a, &seats(&["A1", "A4"])).await.unwrap().seats, vec!["A1", "A2", "A4"]);
    assert!(matches!(e.hold(&sc, &a, &seats(&["A5", "A6"])).await.unwrap_err(), Error::TooManySeats(4)));
    // Release some, then the rest.
    assert!(matches!(e.release(&sc, &a, &seats(&["B9"])).await.unwrap_err(), Error::NotHeld(_)));
    assert_eq!(e.release(&sc, &a, &seats(&["A2"])).await.unwrap(), vec!["A1", "A4"]);
    assert!(e.release(&sc, &a, &[]).await.unwrap().is_empty());
    assert!(matches!(e.complete(&sc, &a).await.unwrap_err(), Error::NoSeats));
    // A waiting buyer has no session.
    assert!(matches!(e.hold(&sc, &w, &seats(&["Z1"])).await.unwrap_err(), Error::NoSession(_)));
    assert!(e.hold(&sc, &w, &[]).await.unwrap_err().to_string().contains("at least one seat"));
}

#[tokio::test]
async fn sold_seats_stay_sold_across_generations() {
    let t = start().await;
    let e = &t.engine;
    let id = ShowId::new("s1").unwrap();
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = tk(&e.join(&sc, &buyer("a")).await.unwrap().ticket);
    e.hold(&sc, &a, &seats(&["H7"])).await.unwrap();
    e.complete(&sc, &a).await.unwrap();
    e.update_show_status(&id, ShowStatus::Closed, &actor(), None).await.unwrap();
    e.update_show_status(&id, ShowStatus::Open, &actor(), None).await.unwrap();
    let b = e.join(&sc, &buyer("b")).await.unwrap();
    let bt = tk(&b.ticket);
    assert_eq!((bt.generation, bt.seq), (2, 1), "a fresh generation restarts the sequence");
    assert!(matches!(e.hold(&sc, &bt, &seats(&["H7"])).await.unwrap_err(), Error::SeatsTaken(_)));
    assert_eq!(e.status(&sc, &a).await.unwrap().state, TicketState::Closed, "old tickets answer closed");
}

#[tokio::test]
async fn pause_keeps_places_and_admits_nobody_until_resumed() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = tk(&e.join(&sc, &buyer("a")).await.unwrap().ticket);
    let b = tk(&e.join(&sc, &buyer("b")).await.unwrap().ticket);
    e.pause_queue(&sc).await.unwrap();
    let c = e.join(&sc, &buyer("c")).await.unwrap();
    assert_eq!((c.state, c.rank, c.paused), (TicketState::Waiting, 2, true), "joining a paused queue is allowed");
    e.leave(&sc, &a).await.unwrap();
    let sb = e.status(&sc, &b).await.unwrap();
    assert_eq!((sb.state, sb.rank, sb.paused), (TicketState::Waiting, 1, true), "nobody admitted while paused");
    assert!(matches!(e.admit(&sc, 1).await.unwrap_err(), Error::QueuePaused(_)));
    e.resume_queue(&sc).await.unwrap();
    assert_eq!(e.status(&sc, &b).await.unwrap().state, TicketState::Admitted);
    let kinds: Vec<String> = outbox(e, &sc).await.into_iter().map(|(k, _)| k).collect();
    assert!(kinds.contains(&"queue_paused".into()) && kinds.contains(&"queue_resumed".into()), "{kinds:?}");
}

#[tokio::test]
async fn staff_can_admit_now_change_capacity_remove_and_announce() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let ts: Vec<Ticket> = futures_join(e, &sc, 6).await.iter().map(|t| tk(&t.ticket)).collect();
    assert_eq!(e.admit(&sc, 2).await.unwrap(), 2, "admit N goes beyond capacity");
    let s = queue_stats(e, &sc).await;
    assert_eq!((s.active_sessions, s.queue_size), (3, 3));
    assert_eq!(e.set_capacity(&sc, 5).await.unwrap(), 2);
    assert_eq!(e.remove_ticket(&sc, &ts[5]).await.unwrap(), TicketState::Waiting);
    assert_eq!(e.status(&sc, &ts[5]).await.unwrap().state, TicketState::Removed);
    e.announce(&sc, "Doors open at 7").await.unwrap();
    assert!(e.announce(&sc, "").await.is_err());
    let events = outbox(e, &sc).await;
    assert!(events.contains(&("ticket_removed".into(), ts[5].to_string())));
    assert!(events.contains(&("announcement".into(), String::new())));
    assert!(e.admit(&sc, 0).await.unwrap_err().to_string().contains("between 1 and 10000"));
}

#[tokio::test]
async fn closing_keeps_the_buyers_to_tell_and_reopening_starts_fresh() {
    let t = start().await;
    let e = &t.engine;
    let id = ShowId::new("s1").unwrap();
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let ts: Vec<Ticket> = futures_join(e, &sc, 4).await.iter().map(|t| tk(&t.ticket)).collect();
    let r = e.update_show_status(&id, ShowStatus::Cancelled, &actor(), None).await.unwrap();
    assert!(r.success);
    assert_eq!(r.queue_results[0].message, "queue closed; 4 buyers will be told");
    for t in &ts {
        assert_eq!(e.status(&sc, t).await.unwrap().state, TicketState::Closed);
    }
    // The drain key records every buyer to tell (3 waiting + 1 admitted), as bits at their seqs.
    let drain = seatwise_engine::keys::closing(&sc, 1);
    let n: u64 = e.redis().query(redis::cmd("BITCOUNT").arg(&drain)).await.unwrap();
    assert_eq!(n, 4);
    let events = outbox(e, &sc).await;
    let kinds: Vec<&str> = events.iter().rev().take(2).map(|e| e.0.as_str()).collect();
    assert_eq!(kinds, ["queue_drain", "queue_closed"], "the public event, then the drain work");
    let s = queue_stats(e, &sc).await;
    assert_eq!(
        (s.state, s.closed_reason.as_str(), s.queue_size),
        (seatwise_engine::QueueState::Closed, "cancelled", 0)
    );
    // Per-buyer state is gone; only meta, seq, avg, sold, outbox and the drain key remain.
    let keys: Vec<String> = e.redis().query(redis::cmd("KEYS").arg("*")).await.unwrap();
    for k in &keys {
        assert!(!k.contains(":waiting:") && !k.contains(":tickets:") && !k.contains(":buyers:"), "{keys:?}");
    }
}

#[tokio::test]
async fn bad_input_is_rejected_with_what_is_allowed() {
    let t = start().await;
    let e = &t.engine;
    assert!(BuyerId::new("has space").unwrap_err().to_string().contains("1 to 128 characters"));
    assert!(SeatId::new("").unwrap_err().to_string().contains("1 to 32 characters"));
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let err = e.set_capacity(&sc, 1_000_000).await.unwrap_err();
    assert!(err.to_string().contains("between 0 and 100000"), "{err}");
    let err = e.announce(&sc, &"x".repeat(1001)).await.unwrap_err();
    assert!(err.to_string().contains("1 to 1000 characters"), "{err}");
}

#[tokio::test]
async fn a_long_pause_keeps_every_place_even_without_heartbeats() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 600.0, 1.0)).await;
    let sc = scope("s1", "d1");
    let a = tk(&e.join(&sc, &buyer("a")).await.unwrap().ticket);
    let b = tk(&e.join(&sc, &buyer("b")).await.unwrap().ticket);
    e.join(&sc, &buyer("c")).await.unwrap();
    e.pause_queue(&sc).await.unwrap();
    // Longer than the abandonment window, with nobody polling, and the monitor's housekeeping running.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let s = queue_stats(e, &sc).await;
    assert_eq!((s.queue_size, s.abandoned_total), (2, 0), "{s:?}");
    let r = e.resume_queue(&sc).await.unwrap();
    assert_eq!(r, seatwise_engine::queue::QueueEffect::Resumed { generation: 1 });
    // After the resume the buyers get a full window to come back: b is admitted, not skipped.
    e.leave(&sc, &a).await.unwrap();
    assert_eq!(e.status(&sc, &b).await.unwrap().state, TicketState::Admitted);
    assert_eq!(queue_stats(e, &sc).await.abandoned_total, 0);
}

#[tokio::test]
async fn admitting_goes_on_past_a_long_run_of_abandoned_tickets() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 600.0, 1.0)).await;
    let sc = scope("s1", "d1");
    e.join(&sc, &buyer("first")).await.unwrap();
    for i in 0..600 {
        e.join(&sc, &buyer(&format!("ghost{i}"))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let live = tk(&e.join(&sc, &buyer("live")).await.unwrap().ticket);
    // More abandoned tickets at the head than one call may skip: admit still reaches the live buyer.
    assert_eq!(e.admit(&sc, 1).await.unwrap(), 1);
    assert_eq!(e.status(&sc, &live).await.unwrap().state, TicketState::Admitted);
}

#[tokio::test]
async fn seats_of_a_session_that_ended_unnoticed_are_free_to_hold() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 2, 2.0, 600.0)).await;
    let sc = scope("s1", "d1");
    let a = tk(&e.join(&sc, &buyer("a")).await.unwrap().ticket);
    e.hold(&sc, &a, &seats(&["H1"])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let b = tk(&e.join(&sc, &buyer("b")).await.unwrap().ticket);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // a's session ended 0.3 s ago and nobody called since: b's hold finds H1 free.
    assert_eq!(e.hold(&sc, &b, &seats(&["H1"])).await.unwrap().seats, vec!["H1"]);
}

#[tokio::test]
async fn an_older_status_change_never_undoes_a_newer_one() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 600.0, 600.0)).await;
    let sc = scope("s1", "d1");
    let settings = seatwise_engine::QueueSettings::default();
    // The close of version 9 reached the queue first; the open of version 8 arrives late.
    let closed = e.close_queue_at_version(&sc, seatwise_engine::queue::CloseReason::Closed, Some(9)).await.unwrap();
    assert!(matches!(closed, seatwise_engine::queue::QueueEffect::Closed { .. }));
    let late = e.open_queue_at_version(&sc, &settings, Some(8)).await.unwrap();
    assert_eq!(late, seatwise_engine::queue::QueueEffect::Superseded);
    assert_eq!(queue_stats(e, &sc).await.state, seatwise_engine::QueueState::Closed);
    // A newer change does apply.
    assert!(matches!(
        e.open_queue_at_version(&sc, &settings, Some(10)).await.unwrap(),
        seatwise_engine::queue::QueueEffect::Opened { .. }
    ));
}

#[tokio::test]
async fn a_buyer_whose_session_ended_unnoticed_gets_a_new_ticket() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 1.0, 600.0)).await;
    let sc = scope("s1", "d1");
    let first = e.join(&sc, &buyer("a")).await.unwrap();
    assert_eq!(first.state, TicketState::Admitted);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Nobody called while the session ran out: joining again is a fresh place, not a dead session.
    let again = e.join(&sc, &buyer("a")).await.unwrap();
    assert_ne!(again.ticket, first.ticket);
    assert_eq!(e.status(&sc, &tk(&first.ticket)).await.unwrap().state, TicketState::Expired);
}

#[tokio::test]
async fn join_many_answers_each_buyer_as_one_join_after_another_would() {
    use seatwise_engine::JoinProof;
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let carol = e.join(&sc, &buyer("carol")).await.unwrap(); // admitted at once: the only session
    let carol_ticket = tk(&carol.ticket);
    let batch = vec![
        (buyer("a"), JoinProof::None),
        (buyer("b"), JoinProof::None),
        (buyer("a"), JoinProof::None), // a again, no proof: refused, a keeps one ticket
        (buyer("carol"), JoinProof::Ticket(&carol_ticket)), // carol with her ticket: hers again
        (buyer("c"), JoinProof::None),
    ];
    let out = e.join_many(&sc, &batch).await.unwrap();
    let ok: Vec<_> = out.iter().map(|r| r.as_ref().map(|s| (s.state, s.rank)).ok()).collect();
    assert_eq!(
        ok,
        vec![
            Some((TicketState::Waiting, 1)),
            Some((TicketState::Waiting, 2)),
            None,
            Some((TicketState::Admitted, 0)),
            Some((TicketState::Waiting, 3)),
        ]
    );
    assert!(matches!(out[2], Err(Error::AlreadyQueued { .. })), "{:?}", out[2]);
    assert_eq!(out[3].as_ref().unwrap().ticket, carol.ticket);
    // The tickets are real: each answers its status with the same rank, and the sequence stayed dense.
    let b = tk(&out[1].as_ref().unwrap().ticket);
    assert_eq!(e.status(&sc, &b).await.unwrap().rank, 2);
    assert_eq!(b.seq, 3, "carol 1, a 2, b 3: the refused and the returning buyer used no number");
    assert_eq!(queue_stats(e, &sc).await.queue_size, 3);
    assert!(e.join_many(&sc, &[]).await.unwrap().is_empty());
    let too_many: Vec<_> = (0..257).map(|i| (buyer(&format!("x{i}")), JoinProof::None)).collect();
    assert!(matches!(e.join_many(&sc, &too_many).await, Err(Error::Invalid { .. })));
    assert!(matches!(e.join_many(&scope("s1", "nope"), &batch[..1]).await, Err(Error::NoQueue(_))));
}

#[tokio::test]
async fn a_caller_acting_for_a_buyer_cannot_use_another_buyers_ticket() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = tk(&e.join(&sc, &buyer("alice")).await.unwrap().ticket);
    let (alice, mallory) = (buyer("alice"), buyer("mallory"));
    for r in [
        e.status_for(&sc, &a, Some(&mallory)).await.map(|_| ()),
        e.hold_for(&sc, &a, Some(&mallory), &seats(&["A1"])).await.map(|_| ()),
        e.release_for(&sc, &a, Some(&mallory), &[]).await.map(|_| ()),
        e.complete_for(&sc, &a, Some(&mallory)).await.map(|_| ()),
        e.leave_for(&sc, &a, Some(&mallory)).await.map(|_| ()),
    ] {
        assert!(matches!(r, Err(Error::NotOwner { .. })), "{r:?}");
    }
    // Nothing changed for alice, who can do all of it.
    assert_eq!(e.status_for(&sc, &a, Some(&alice)).await.unwrap().state, TicketState::Admitted);
    assert_eq!(e.hold_for(&sc, &a, Some(&alice), &seats(&["A1"])).await.unwrap().seats, vec!["A1"]);
    assert_eq!(e.complete_for(&sc, &a, Some(&alice)).await.unwrap(), vec!["A1"]);
}

/// A buyer who missed their turn and comes back inside a batch of joins (the gateway coalesces joins) is
/// counted by the joins after them in the same batch: the new buyer's rank includes them.
#[tokio::test]
async fn a_buyer_back_inside_a_batch_counts_for_the_next_joins_of_that_batch() {
    let t = start().await;
    let e = &t.engine;
    let mut sh = show("s1", 1, 1, 60.0, 1.0);
    sh.schedules[0].grace_seconds = Some(600.0);
    open_show(e, &sh).await;
    let sc = scope("s1", "d1");
    let first = tk(&e.join(&sc, &buyer("first")).await.unwrap().ticket);
    let away = tk(&e.join(&sc, &buyer("away")).await.unwrap().ticket);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let next = tk(&e.join(&sc, &buyer("next")).await.unwrap().ticket);
    e.leave(&sc, &first).await.unwrap();
    assert_eq!(e.status(&sc, &next).await.unwrap().state, TicketState::Admitted, "away missed its turn");
    let batch = vec![
        (buyer("away"), seatwise_engine::JoinProof::Ticket(&away)),
        (buyer("late"), seatwise_engine::JoinProof::None),
    ];
    let r = e.join_many(&sc, &batch).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap().rank, 1, "away is back at the front");
    assert_eq!(r[1].as_ref().unwrap().rank, 2, "the late buyer comes after the one back");
    assert_eq!(queue_stats(e, &sc).await.queue_size, 2);
}
