//! Join coalescing: the joins that arrive for one queue while its previous batch is in Redis go together
//! in the next `join_many` call (at most `MAX_JOIN_BATCH`). One batch per queue is in flight at a time, so
//! buyers are ranked in the order their requests reached this gateway; each still gets exactly what a
//! join of its own would have answered (docs/PROTOCOL.md, "Join coalescing").

use std::collections::HashMap;
use std::sync::Mutex;

use seatwise_engine::{BuyerId, Engine, JoinProof, MAX_JOIN_BATCH, Scope, TicketStatus};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

type Reply = oneshot::Sender<Result<TicketStatus, ApiError>>;

#[derive(Default)]
pub struct Joiner {
    queues: Mutex<HashMap<Scope, mpsc::UnboundedSender<(BuyerId, Reply)>>>,
}

impl Joiner {
    /// Joins `buyer` (whose identity the gateway has checked: a trusted join) to `scope`.
    pub async fn join(&self, engine: &Engine, scope: &Scope, buyer: BuyerId) -> Result<TicketStatus, ApiError> {
        let (tx, rx) = oneshot::channel();
        let mut item = Some((buyer, tx));
        {
            let mut queues = self.queues.lock().expect("joiner lock");
            if let Some(q) = queues.get(scope) {
                match q.send(item.take().expect("not sent yet")) {
                    Ok(()) => {}
                    Err(mpsc::error::SendError(back)) => item = Some(back),
                }
            }
            if let Some(it) = item.take() {
                let (qtx, qrx) = mpsc::unbounded_channel();
                qtx.send(it).expect("the receiver is alive");
                queues.insert(scope.clone(), qtx);
                tokio::spawn(batches(engine.clone(), scope.clone(), qrx));
            }
        }
        rx.await.unwrap_or_else(|_| Err(ApiError::unavailable()))
    }
}

/// One queue's batcher: takes what has arrived, sends it as one script call, answers each buyer.
async fn batches(engine: Engine, scope: Scope, mut rx: mpsc::UnboundedReceiver<(BuyerId, Reply)>) {
    let mut batch: Vec<(BuyerId, Reply)> = Vec::with_capacity(MAX_JOIN_BATCH);
    while rx.recv_many(&mut batch, MAX_JOIN_BATCH).await > 0 {
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
