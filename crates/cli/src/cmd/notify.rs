//! Telling buyers: `worker`, `ably-check`, and telling a closed show's buyers after a status change.

use std::sync::Arc;
use std::time::Duration;

use seatwise_ably::AblyRest;
use seatwise_engine::ErrorCode;
use seatwise_engine::connect::check_ably;
use seatwise_engine::notify::{DrainProgress, Notifier, Worker};
use seatwise_engine::{Engine, Scope};

use crate::args::ConnArgs;
use crate::*;

/// Tells the buyers of just-closed queues, with a progress bar.
pub(crate) async fn tell_closed(engine: &Engine, ably: Arc<AblyRest>, scopes: &[Scope]) -> Out {
    let n = Notifier::new(engine.clone(), ably, &consumer_name());
    let bar = |p: DrainProgress| {
        let width = 40;
        let done = (p.told * width as u64).checked_div(p.total).map_or(width, |d| d.min(width as u64) as usize);
        eprint!(
            "\r  telling buyers of {:<30} [{}{}] {}/{}",
            p.show_scope_id,
            "#".repeat(done),
            " ".repeat(width - done),
            p.told,
            p.total
        );
    };
    // Keeps trying for a bounded time while Ably fails, then hands the queues over to the workers.
    let r = n.deliver_until_idle(Some(scopes), Duration::from_secs(30), &bar).await?;
    eprintln!();
    if !r.held_elsewhere.is_empty() {
        eprintln!(
            "  a running worker is telling the buyers of {} queue(s); follow it in `seatwise monitor`",
            r.held_elsewhere.len()
        );
    }
    if r.failed > 0 || r.to_tell > 0 || !r.errors.is_empty() {
        return Err(Fail::new(
            ErrorCode::Incomplete,
            format!(
                "{} buyer(s) could not be told yet ({}); they stay recorded and are told once Ably answers, by a running `seatwise worker` or the console",
                r.to_tell,
                r.errors.first().cloned().unwrap_or_else(|| "Ably did not accept every notice".into())
            ),
        ));
    }
    Ok(())
}

pub(crate) async fn worker(engine: &Engine, conn: &ConnArgs, once: bool, idle_ms: u64) -> Out {
    let ably = ably_client(conn)?;
    if once {
        let n = Notifier::new(engine.clone(), ably.ok_or_else(no_ably)?, &consumer_name());
        let total = n.deliver_until_idle(None, Duration::from_secs(10), &|_| {}).await?;
        print_json(&total);
        return if total.failed == 0 {
            Ok(())
        } else {
            Err(Fail::new(ErrorCode::Incomplete, "some events could not be delivered; they stay in the outbox"))
        };
    }
    let w = Worker::start(engine.clone(), ably, &consumer_name(), Duration::from_millis(idle_ms.max(10)));
    eprintln!("worker {} running; Ctrl-C to stop", consumer_name());
    report_every_5s(None, || {
        let r = w.report();
        format!(
            "{}: delivered {} failed {} cycles {}{}",
            r.state,
            r.delivered,
            r.failed,
            r.cycles,
            r.last_error.map(|e| format!(" — last error: {e}")).unwrap_or_default()
        )
    })
    .await;
    print_json(&w.stop().await);
    Ok(())
}

pub(crate) async fn ably_check(conn: &ConnArgs, json: bool) -> Out {
    let ably = ably_client(conn)?.ok_or_else(no_ably)?;
    let c = check_ably(&ably).await?;
    if json {
        print_json(
            &serde_json::json!({"ok": true, "key": c.key, "ablyTime": c.ably_time, "clockSkewMs": c.clock_skew_ms, "tokenExpires": c.token_expires}),
        );
    } else {
        println!("Ably credentials work: key {} issued a token (clock skew {} ms)", c.key, c.clock_skew_ms);
    }
    Ok(())
}
