//! [`Worker`]: delivery passes in the background until stopped, the housekeeping tick, and a health report
//! for the console and the CLI.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use seatwise_ably::AblyRest;

use super::delivery::Notifier;
use super::{DrainProgress, WorkerReport, now_ms};
use crate::queue::Engine;

/// How often a running worker does every queue's housekeeping.
const TICK: Duration = Duration::from_secs(5);

/// A worker running cycles in the background until stopped, with a health and progress report.
pub struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    report: Arc<Mutex<WorkerReport>>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts delivering. With no Ably client the worker only reports that Ably is not configured:
    /// events wait in the outboxes (the monitor counts them) until a worker with Ably runs.
    pub fn start(engine: Engine, ably: Option<Arc<AblyRest>>, consumer: &str, idle: Duration) -> Worker {
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let report = Arc::new(Mutex::new(WorkerReport {
            state: "starting".into(),
            consumer: consumer.to_string(),
            ..Default::default()
        }));
        let rep = report.clone();
        let consumer = consumer.to_string();
        let task = tokio::spawn(async move {
            let Some(ably) = ably else {
                rep.lock().expect("not poisoned").state = "ably_not_configured".into();
                let _ = stop_rx.changed().await;
                rep.lock().expect("not poisoned").state = "stopped".into();
                return;
            };
            let n = Notifier::new(engine.clone(), ably, &consumer);
            let mut backoff = idle;
            let mut last_tick: Option<std::time::Instant> = None;
            loop {
                let r2 = rep.clone();
                let progress = move |p: DrainProgress| {
                    let mut r = r2.lock().expect("not poisoned");
                    r.drains.retain(|d| d.show_scope_id != p.show_scope_id);
                    if p.told < p.total {
                        r.drains.push(p);
                    }
                };
                let result = match n.all_scopes().await {
                    Ok(scopes) => {
                        // Every few seconds, the queues' bounded housekeeping (the stats script): sessions
                        // that ended while nobody called are closed and their buyers told, free sessions
                        // are filled, even when no buyer and no console is calling.
                        if last_tick.is_none_or(|t| t.elapsed() >= TICK) {
                            last_tick = Some(std::time::Instant::now());
                            let _ = engine.queue_stats(&scopes).await;
                        }
                        n.cycle(&scopes, &progress).await
                    }
                    Err(e) => Err(e),
                };
                let wait = {
                    let mut r = rep.lock().expect("not poisoned");
                    r.cycles += 1;
                    r.last_cycle_at_ms = now_ms();
                    match result {
                        Ok(c) => {
                            r.delivered += c.delivered;
                            r.failed += c.failed;
                            if c.failed > 0 || !c.errors.is_empty() {
                                r.state = "ably_unreachable".into();
                                r.last_error = c.errors.first().cloned();
                                backoff = (backoff * 2).min(Duration::from_secs(5));
                            } else {
                                r.state = "running".into();
                                backoff = idle;
                            }
                            if c.read > 0 && c.failed == 0 { Duration::ZERO } else { backoff }
                        }
                        Err(e) => {
                            r.state = "redis_unreachable".into();
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
            rep.lock().expect("not poisoned").state = "stopped".into();
        });
        Worker { stop, report, task }
    }

    pub fn report(&self) -> WorkerReport {
        self.report.lock().expect("not poisoned").clone()
    }

    /// Stops after the cycle in progress (nothing is lost: what was not acknowledged stays pending).
    pub async fn stop(mut self) -> WorkerReport {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
        self.report()
    }
}
