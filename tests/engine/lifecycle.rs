use seatwise_engine::{BuyerId, SeatId, TicketState, Ticket};

use crate::support::*;

fn buyer(s: &str) -> BuyerId {
    BuyerId::new(s).unwrap()
}

#[tokio::test]
async fn smoke_join_admit_hold_complete() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let a = e.join(&sc, &buyer("alice")).await.unwrap();
    assert_eq!(a.state, TicketState::Admitted, "{a:?}");
    let b = e.join(&sc, &buyer("bob")).await.unwrap();
    assert_eq!((b.state, b.rank, b.eta_ms), (TicketState::Waiting, 1, 60_000), "{b:?}");
    let ta = Ticket::parse(&a.ticket).unwrap();
    let tb = Ticket::parse(&b.ticket).unwrap();
    let held = e.hold(&sc, &ta, &[SeatId::new("A1").unwrap(), SeatId::new("A2").unwrap()]).await.unwrap();
    assert_eq!(held.seats, vec!["A1", "A2"]);
    let sold = e.complete(&sc, &ta).await.unwrap();
    assert_eq!(sold, vec!["A1", "A2"]);
    let sb = e.status(&sc, &tb).await.unwrap();
    assert_eq!(sb.state, TicketState::Admitted, "{sb:?}");
    let err = e.hold(&sc, &tb, &[SeatId::new("A2").unwrap()]).await.unwrap_err();
    assert_eq!(err.code(), "seats_taken", "{err}");
}
