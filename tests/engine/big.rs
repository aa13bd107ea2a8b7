//! A big queue: closing it and admitting from it never blocks Redis (checked with SLOWLOG).
//!
//! SLOWLOG counts wall time, so a command descheduled on a loaded machine (CI runs these next to 70 other
//! tests, each with its redis-server, on 2 cores) can be logged at tens of milliseconds. The bound is
//! therefore 50 ms: far above such noise, far below a close that loops over 100 000 buyers (~184 ms when
//! it did). The actual figures come from the benchmark (docs/PERFORMANCE.md: slowest command 229 µs).

use seatwise_engine::{ShowId, ShowStatus};

use crate::support::*;

/// The SLOWLOG bound, in microseconds (see above).
const SLOW_US: u64 = 50_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_100k_queue_never_blocks_redis() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("big", 1, 50, 600.0, 600.0)).await;
    let sc = scope("big", "d1");
    let r = e.redis();
    let n = 100_000u32;
    fill_queue(e, &sc, n).await;
    let s = queue_stats(e, &sc).await;
    assert_eq!((s.queue_size, s.active_sessions), (n as u64 - 50, 50));
    // What is checked: the admissions and the close (not the joins that filled the queue).
    r.query::<String>(redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(SLOW_US)).await.unwrap();
    r.query::<String>(redis::cmd("SLOWLOG").arg("RESET")).await.unwrap();
    // Admissions deep into the queue, then the close.
    e.admit(&sc, 500).await.unwrap();
    let res = e.update_show_status(&ShowId::new("big").unwrap(), ShowStatus::Closed, &actor(), None).await.unwrap();
    assert_eq!(res.queue_results[0].message, format!("queue closed; {n} buyers will be told"));
    let slow: Vec<redis::Value> = r.query(redis::cmd("SLOWLOG").arg("GET").arg(10)).await.unwrap();
    assert!(slow.is_empty(), "commands slower than {} ms: {slow:?}", SLOW_US / 1000);
}

/// Closing is O(1) in sessions too: 100,000 buyers in a session (admitted beyond capacity) are merged into
/// the drain by one BITOP, never a loop over sessions (which took ~184 ms here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_with_100k_sessions_never_blocks_redis() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("busy", 1, 50, 3600.0, 3600.0)).await;
    let sc = scope("busy", "d1");
    let r = e.redis();
    let n = 100_000u32;
    fill_queue(e, &sc, n).await;
    for _ in 0..10 {
        e.admit(&sc, 10_000).await.unwrap();
    }
    let s = queue_stats(e, &sc).await;
    assert_eq!((s.queue_size, s.active_sessions), (0, n as u64));
    r.query::<String>(redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(SLOW_US)).await.unwrap();
    r.query::<String>(redis::cmd("SLOWLOG").arg("RESET")).await.unwrap();
    let res = e.update_show_status(&ShowId::new("busy").unwrap(), ShowStatus::Closed, &actor(), None).await.unwrap();
    assert_eq!(res.queue_results[0].message, format!("queue closed; {n} buyers will be told"));
    let slow: Vec<redis::Value> = r.query(redis::cmd("SLOWLOG").arg("GET").arg(10)).await.unwrap();
    assert!(slow.is_empty(), "commands slower than {} ms: {slow:?}", SLOW_US / 1000);
    // Every session's buyer is in the drain: each will be told.
    let drain = seatwise_engine::keys::closing(&sc, 1);
    let to_tell: u64 = r.query(redis::cmd("BITCOUNT").arg(&drain)).await.unwrap();
    assert_eq!(to_tell, n as u64);
}
