//! Hundreds of buyers at once: tickets unique, ranks unique and dense.

use std::collections::HashSet;

use seatwise_engine::{Ticket, TicketState};

use crate::lifecycle::buyer;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_concurrent_joins_get_unique_dense_ranks() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 600.0, 600.0)).await;
    let sc = scope("s1", "d1");
    let n = 400;
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (e, sc) = (e.clone(), sc.clone());
            tokio::spawn(async move { e.join(&sc, &buyer(&format!("c{i}"))).await.unwrap() })
        })
        .collect();
    let mut tickets = Vec::new();
    for h in handles {
        tickets.push(h.await.unwrap());
    }
    let seqs: HashSet<u64> = tickets.iter().map(|t| Ticket::parse(&t.ticket).unwrap().seq).collect();
    assert_eq!(seqs, (1..=n as u64).collect(), "sequence numbers unique and dense");
    assert_eq!(tickets.iter().filter(|t| t.state == TicketState::Admitted).count(), 1);
    let mut ranks: Vec<u64> = tickets.iter().filter(|t| t.state == TicketState::Waiting).map(|t| t.rank).collect();
    ranks.sort();
    assert_eq!(ranks, (1..n as u64).collect::<Vec<_>>(), "join ranks unique and dense");
    // The same, asked again through status.
    let mut now = Vec::new();
    for t in tickets.iter().filter(|t| t.state == TicketState::Waiting) {
        now.push(e.status(&sc, &Ticket::parse(&t.ticket).unwrap()).await.unwrap().rank);
    }
    now.sort();
    assert_eq!(now, (1..n as u64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_buyer_joining_from_many_tabs_gets_one_ticket() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 600.0, 600.0)).await;
    let sc = scope("s1", "d1");
    e.join(&sc, &buyer("someone-first")).await.unwrap();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let (e, sc) = (e.clone(), sc.clone());
            // The tabs share the buyer's identity, vouched for by the venue's server (or the gateway's
            // cookie): one ticket for all of them.
            tokio::spawn(async move {
                e.join_with_proof(&sc, &buyer("same-person"), seatwise_engine::JoinProof::Trusted).await.unwrap().ticket
            })
        })
        .collect();
    let mut set = HashSet::new();
    for h in handles {
        set.insert(h.await.unwrap());
    }
    assert_eq!(set.len(), 1);
    // Without proof, the same buyer id gets no ticket at all.
    assert!(matches!(e.join(&sc, &buyer("same-person")).await, Err(seatwise_engine::Error::AlreadyQueued { .. })));
    let s = queue_stats(e, &sc).await;
    assert_eq!(s.queue_size, 1);
}
