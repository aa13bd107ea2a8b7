//! Join coalescing: the joins that arrive for one queue while its previous batch is in Redis go together
//! in the next `join_many` call (at most `MAX_JOIN_BATCH`). One batch per queue is in flight at a time, so
//! buyers are ranked in the order their requests reached this gateway; each still gets exactly what a
//! join of its own would have answered (docs/PROTOCOL.md, "Join coalescing").

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seatwise_engine::{BuyerId, Engine, JoinProof, MAX_JOIN_BATCH, Scope, TicketStatus};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

type Reply = oneshot::Sender<Result<TicketStatus, ApiError>>;
/// Per queue: its batcher's number and the way to it.
type Queues = Arc<Mutex<HashMap<Scope, (u64, mpsc::Sender<(BuyerId, Reply)>)>>>;

/// Joins waiting for one queue's batcher at most; past it a join is answered 503 at once (the gateway is
/// saturated: the client retries after Retry-After) instead of growing memory without bound.
pub const MAX_PENDING_JOINS: usize = 8192;
/// A queue's batcher ends after this long without a join (and a new one starts with the next join).
pub const IDLE: Duration = Duration::from_secs(30);

static NEXT: AtomicU64 = AtomicU64::new(0);

pub struct Joiner {
    queues: Queues,
    idle: Duration,
}

impl Default for Joiner {
    fn default() -> Self {
        Joiner::with_idle(IDLE)
    }
}

impl Joiner {
    /// A joiner whose batchers end after `idle` without a join.
    pub fn with_idle(idle: Duration) -> Joiner {
        Joiner { queues: Queues::default(), idle }
    }

    /// Joins `buyer` (whose identity the gateway has checked: a trusted join) to `scope`. A join whose
    /// request was given up (timed out, client gone) before its batch is sent is not made.
    pub async fn join(&self, engine: &Engine, scope: &Scope, buyer: BuyerId) -> Result<TicketStatus, ApiError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut queues = self.queues.lock().expect("joiner lock");
            let mut item = Some((buyer, tx));
            if let Some((_, q)) = queues.get(scope) {
                match q.try_send(item.take().expect("not sent yet")) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => return Err(ApiError::unavailable()),
                    // The batcher ended: start another.
                    Err(mpsc::error::TrySendError::Closed(back)) => item = Some(back),
                }
            }
            if let Some(item) = item {
                let (qtx, qrx) = mpsc::channel(MAX_PENDING_JOINS);
                qtx.try_send(item).expect("a new channel has room");
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                queues.insert(scope.clone(), (n, qtx));
                tokio::spawn(batches(engine.clone(), scope.clone(), n, qrx, self.queues.clone(), self.idle));
            }
        }
        rx.await.unwrap_or_else(|_| Err(ApiError::unavailable()))
    }

    /// How many queues have a batcher now.
    pub fn batchers(&self) -> usize {
        self.queues.lock().expect("joiner lock").len()
    }
}

/// One queue's batcher: takes what has arrived, sends it as one script call, answers each buyer; ends
/// (removing itself) after `idle` without a join.
async fn batches(
    engine: Engine,
    scope: Scope,
    n: u64,
    mut rx: mpsc::Receiver<(BuyerId, Reply)>,
    queues: Queues,
    idle: Duration,
) {
    let mut batch: Vec<(BuyerId, Reply)> = Vec::with_capacity(MAX_JOIN_BATCH);
    loop {
        match tokio::time::timeout(idle, rx.recv_many(&mut batch, MAX_JOIN_BATCH)).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(_) => {
                // Idle: leave, unless a join arrived meanwhile (joins are sent under the lock held here).
                let mut q = queues.lock().expect("joiner lock");
                if rx.is_empty() {
                    if q.get(&scope).is_some_and(|(m, _)| *m == n) {
                        q.remove(&scope);
                    }
                    rx.close();
                    return;
                }
                continue;
            }
        }
        // Buyers whose request was given up meanwhile are not joined.
        batch.retain(|(_, tx)| !tx.is_closed());
        if batch.is_empty() {
            continue;
        }
        let joins: Vec<(BuyerId, JoinProof)> = batch.iter().map(|(b, _)| (b.clone(), JoinProof::Trusted)).collect();
        metrics::histogram!("seatwise_gateway_join_batch_size").record(joins.len() as f64);
        match engine.join_many(&scope, &joins).await {
            Ok(results) => {
                for ((_, tx), r) in batch.drain(..).zip(results) {
                    let _ = tx.send(r.map_err(ApiError::from));
                }
            }
            Err(e) => {
                let e = ApiError::from(e);
                for (_, tx) in batch.drain(..) {
                    let _ = tx.send(Err(e.clone()));
                }
            }
        }
    }
}
