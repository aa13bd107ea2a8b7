//! [`Worker`]: delivery passes in the background until stopped, the housekeeping tick, and a health report
//! for the console and the CLI.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use seatwise_ably::AblyRest;

use super::delivery::Notifier;
use super::{DrainProgress, WorkerReport, WorkerState, now_ms};
use crate::queue::Engine;

/// How often a running worker does every queue's housekeeping.
const TICK: Duration = Duration::from_secs(5);
/// How often a worker looks for scheduled openings that are due (their precision).
const OPENINGS: Duration = Duration::from_secs(1);
/// How often a worker samples the live queues' history (one sample per slot across all workers).
const HISTORY: Duration = Duration::from_millis(crate::history::SAMPLE_MS as u64);

/// A worker running cycles in the background until stopped, with a health and progress report.
pub struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    report: Arc<Mutex<WorkerReport>>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts delivering. With no Ably client the worker reports that Ably is not configured and only runs
    /// the scheduled openings: events wait in the outboxes (the monitor counts them) until a worker with
    /// Ably runs.
    pub fn start(engine: Engine, ably: Option<Arc<AblyRest>>, consumer: &str, idle: Duration) -> Worker {
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let report = Arc::new(Mutex::new(WorkerReport {
            state: WorkerState::Starting,
            consumer: consumer.to_string(),
            ..Default::default()
        }));
        let rep = report.clone();
        let consumer = consumer.to_string();
        let task = tokio::spawn(async move {
            let Some(ably) = ably else {
                // Nothing to send, but scheduled openings still happen on time.
                rep.lock().expect("not poisoned").state = WorkerState::AblyNotConfigured;
                let mut last_history: Option<std::time::Instant> = None;
                loop {
                    tokio::select! {
                        _ = stop_rx.changed() => break,
                        _ = tokio::time::sleep(OPENINGS) => {
                            let _ = engine.run_openings(now_ms() as i64).await;
                            if last_history.is_none_or(|t| t.elapsed() >= HISTORY) {
                                last_history = Some(std::time::Instant::now());
                                if let Ok(scopes) = engine.live_scopes(&[]).await {
                                    let _ = engine.sample_history(&scopes).await;
                                }
                            }
                        }
                    }
                }
                rep.lock().expect("not poisoned").state = WorkerState::Stopped;
                return;
            };
            let mut n = Notifier::new(engine.clone(), ably, &consumer);
            n.config.share = true;
            let mut backoff = idle;
            let mut last_tick: Option<std::time::Instant> = None;
            let mut last_openings: Option<std::time::Instant> = None;
            let mut last_history: Option<std::time::Instant> = None;
            loop {
                let r2 = rep.clone();
                let progress = move |p: DrainProgress| {
                    let mut r = r2.lock().expect("not poisoned");
                    r.drains.retain(|d| d.show_scope_id != p.show_scope_id);
                    if p.told < p.total {
                        r.drains.push(p);
                    }
                };
                let pass = async {
                    let scopes = n.watched_scopes().await?;
                    // Every few seconds, the live queues' bounded housekeeping (the stats script): sessions
                    // that ended while nobody called are closed and their buyers told, free sessions are
                    // filled, even when no buyer and no console is calling.
                    if last_tick.is_none_or(|t| t.elapsed() >= TICK) {
                        last_tick = Some(std::time::Instant::now());
                        let _ = engine.queue_stats(&scopes).await;
                    }
                    // Every 10 s, a sample of each live queue into its history (once per slot across workers).
                    if last_history.is_none_or(|t| t.elapsed() >= HISTORY) {
                        last_history = Some(std::time::Instant::now());
                        let _ = engine.sample_history(&scopes).await;
                    }
                    // Every second, scheduled openings that are due (each happens once across workers).
                    if last_openings.is_none_or(|t| t.elapsed() >= OPENINGS) {
                        last_openings = Some(std::time::Instant::now());
                        let _ = engine.run_openings(now_ms() as i64).await;
                    }
                    n.cycle(&scopes, &progress).await
                };
                // Stopping does not wait for the pass: requests in flight are dropped (an event whose
                // outcome is unknown stays unacknowledged and is sent again, under the same message id).
                let result = tokio::select! {
                    r = pass => r,
                    _ = stop_rx.changed() => break,
                };
                let wait = {
                    let mut r = rep.lock().expect("not poisoned");
                    r.cycles += 1;
                    r.last_cycle_at_ms = now_ms();
                    r.streams = n.streams_held() as u64;
                    match result {
                        Ok(c) => {
                            r.delivered += c.delivered;
                            r.failed += c.failed;
                            let progress = c.delivered > 0 || c.told > 0;
                            if c.failed > 0 || !c.errors.is_empty() {
                                r.state = WorkerState::AblyUnreachable;
                                r.last_error = c.errors.first().cloned();
                                // Back off only while nothing gets through: a partly failing Ably keeps
                                // the pace (the client's request ceiling bounds it).
                                backoff = if progress { idle } else { (backoff * 2).min(Duration::from_secs(5)) };
                            } else {
                                r.state = WorkerState::Running;
                                backoff = idle;
                            }
                            if (c.read > 0 || c.pending) && (progress || (c.failed == 0 && c.errors.is_empty())) {
                                Duration::ZERO
                            } else {
                                backoff
                            }
                        }
                        Err(e) => {
                            r.state = WorkerState::RedisUnreachable;
                            r.last_error = Some(e.to_string());
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                            backoff
                        }
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop_rx.changed() => break,
                }
            }
            // Hand the streams over at once rather than after the lease runs out (bounded: a Redis that
            // does not answer must not hold up the stop).
            let _ = tokio::time::timeout(Duration::from_millis(500), n.release()).await;
            rep.lock().expect("not poisoned").state = WorkerState::Stopped;
        });
        Worker { stop, report, task }
    }

    /// Ends the worker at once without handing anything over, as if its process died (for fault tests):
    /// its leases run out after one TTL and other workers take its streams then.
    pub fn kill(self) {
        self.task.abort();
    }

    pub fn report(&self) -> WorkerReport {
        self.report.lock().expect("not poisoned").clone()
    }

    /// Stops within a second, mid-pass if need be (nothing is lost: what was not acknowledged stays
    /// pending), and hands this worker's streams over.
    pub async fn stop(mut self) -> WorkerReport {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
        self.report()
    }
}
