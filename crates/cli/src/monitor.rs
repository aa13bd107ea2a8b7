//! The terminal monitor: a table of every open queue, refreshed on an interval. Refreshes never overlap
//! (each waits for the previous one); a failed refresh shows a banner and the next one tries again.

use std::fmt::Write;
use std::io::IsTerminal;
use std::time::Duration;

use seatwise_engine::{Engine, ShowQueueStatus};

use crate::Out;

fn secs_and_mins(ms: u64) -> String {
    format!("{}s/{}m", ms / 1000, (ms + 30_000) / 60_000)
}

/// The table, as text (used by `stats` too).
pub fn table(data: &[ShowQueueStatus]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<12} {:<10} {:<7} {:>7} {:>9} {:>8} {:>11} {:>8} {:>9} {:>7} {:>7} {:>7}",
        "SHOW",
        "SCHEDULE",
        "DATE",
        "STATE",
        "QUEUE",
        "ACTIVE",
        "AVG SVC",
        "EST WAIT",
        "ADMITTED",
        "ABANDONED",
        "OUTBOX",
        "ADM/MIN",
        "EST ERR"
    );
    let mut rows = 0;
    for show in data {
        for q in &show.queue_statuses {
            rows += 1;
            let s = &q.stats;
            let _ = writeln!(
                out,
                "{:<16} {:<12} {:<10} {:<7} {:>7} {:>9} {:>8} {:>11} {:>8} {:>9} {:>7} {:>7} {:>7}",
                truncate(show.show_id.as_str(), 16),
                truncate(q.sched_id.as_str(), 12),
                q.sched_date,
                s.state,
                s.queue_size,
                format!("{}/{}", s.active_sessions, s.capacity),
                format!("{}s", s.avg_service_ms / 1000),
                secs_and_mins(s.estimated_wait_time),
                s.admitted_total,
                s.abandoned_total,
                s.pending_events,
                s.admissions_per_min,
                s.estimate_error_pct.map(|e| format!("{e:.0}%")).unwrap_or_else(|| "-".into())
            );
        }
    }
    for show in data {
        for q in &show.queue_statuses {
            let s = &q.stats;
            if s.to_tell > 0 {
                let _ = writeln!(
                    out,
                    "  {}: telling buyers the queue closed, {} still to tell",
                    q.show_scope_id, s.to_tell
                );
            }
            if let Some(n) = s.likely_sold_out_rank.filter(|n| *n < s.queue_size) {
                let _ = writeln!(
                    out,
                    "  {}: likely sold out at rank {n} ({} seats left of {}); buyers beyond it are told",
                    q.show_scope_id, s.seats_left, s.seats_total
                );
            }
            if s.outflow_per_min > 0 {
                let _ = writeln!(out, "  {}: outflow limit {} admissions/min", q.show_scope_id, s.outflow_per_min);
            }
            if s.state == seatwise_engine::QueueState::Prequeue {
                let _ = writeln!(
                    out,
                    "  {}: pre-queue of {} buyers; order drawn at the opening{} (commitment {})",
                    q.show_scope_id,
                    s.queue_size,
                    show.sale_opens_at
                        .as_deref()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| {
                            let now = chrono::Utc::now().timestamp_millis();
                            format!(" {} ({t})", seatwise_engine::opening::countdown(t.timestamp_millis(), now))
                        })
                        .unwrap_or_default(),
                    &s.draw_commit[..s.draw_commit.len().min(16)]
                );
            }
            if s.outbox_dropped > 0 {
                let _ = writeln!(
                    out,
                    "  {}: {} buyer notices not recorded (outbox full: is a worker running?); buyers learn them by polling",
                    q.show_scope_id, s.outbox_dropped
                );
            }
        }
    }
    if rows == 0 {
        out.push_str("(no open queues: set a show to OPEN)\n");
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).collect::<String>() + "…" }
}

pub async fn run(engine: &Engine, interval: Duration, once: bool, stop_after: Option<Duration>) -> Out {
    let tty = std::io::stdout().is_terminal();
    let end = stop_after.map(|d| tokio::time::Instant::now() + d);
    let mut last_ok: Option<String> = None;
    loop {
        let started = tokio::time::Instant::now();
        let before = engine.redis().round_trips();
        let result = engine.all_open_queue_status().await;
        let now = chrono::Local::now().format("%H:%M:%S");
        let mut screen = String::new();
        if tty && !once {
            screen.push_str("\x1b[2J\x1b[H");
        }
        match &result {
            Ok(data) => {
                let _ = writeln!(
                    screen,
                    "Seatwise queues — {} — updated {now} ({} ms, {} round trips); every {}s, Ctrl-C to quit",
                    engine.redis().label(),
                    started.elapsed().as_millis(),
                    engine.redis().round_trips() - before,
                    interval.as_secs()
                );
                screen.push_str(&table(data));
                last_ok = Some(now.to_string());
            }
            Err(e) => {
                let _ = writeln!(
                    screen,
                    "!! Redis unavailable: {e}\n!! last good update: {}; retrying every {}s",
                    last_ok.as_deref().unwrap_or("never"),
                    interval.as_secs()
                );
            }
        }
        print!("{screen}");
        if once {
            return result.map(|_| ()).map_err(Into::into);
        }
        if !tty {
            println!();
        }
        let next = started + interval;
        if end.is_some_and(|e| next > e) {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
