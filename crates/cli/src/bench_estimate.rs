//! How good are the wait estimates? A simulated sale (part of `seatwise-bench`): buyers arrive for 20 s,
//! some give up (and are swept as abandoned, or admitted and hold a session until it ends), the others poll until admitted and leave a random 0.5–1.5 s
//! later; staff double the capacity after 10 s and cut it to a third after 20 s. Each buyer records the
//! estimate shown at join — the design guide's `rank × avgServiceMs` and the gateway's p50 (`eta_range`, from
//! figures at most 0.5 s old, as a gateway's cache has them) — and the wait they actually had.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seatwise_engine::{BuyerId, Engine, QueueStats, Scope, TicketState};

struct Sample {
    joined_ms: f64,
    rank: u64,
    seed_ms: f64,
    p50_ms: f64,
    p10_ms: f64,
    p90_ms: f64,
    actual_ms: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

pub async fn run(e: &Engine) {
    crate::open(e, &crate::show("est", 1, 15)).await;
    let sc = Scope::parse("est:d0").unwrap();
    // Time runs about 300 times faster than in a real sale (sessions used for 0.5–1.5 s instead of
    // minutes), so the windows are set to match underneath (a show may not have them this short): a
    // buyer who stopped polling is dropped after 3 s, a session ends after 3 s at most (about three times
    // the time buyers actually use, as with a 15-minute session and ~5 minutes of seat picking).
    let meta = &seatwise_engine::keys::queue_keys(&sc)[0];
    let _: i64 = e
        .redis()
        .query(redis::cmd("HSET").arg(meta).arg("abandon_ms").arg(3000).arg("session_ms").arg(3000))
        .await
        .unwrap();
    let stats: Arc<Mutex<QueueStats>> = Arc::new(Mutex::new(QueueStats::default()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refresher = {
        let (e, sc, stats, done) = (e.clone(), sc.clone(), stats.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(mut v) = e.queue_stats(std::slice::from_ref(&sc)).await
                    && let Ok(s) = v.remove(0)
                {
                    *stats.lock().unwrap() = s;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let buyers = 800u64;
    for i in 0..buyers {
        // 40 arrivals a second for 20 s.
        tokio::time::sleep_until((start + Duration::from_millis(i * 25)).into()).await;
        if i == 400 {
            e.set_capacity(&sc, 30).await.unwrap();
        }
        let (e, sc, stats, samples) = (e.clone(), sc.clone(), stats.clone(), samples.clone());
        set.spawn(async move {
            let joined = Instant::now();
            let j = e.join(&sc, &BuyerId::new(&format!("est-{i}")).unwrap()).await.unwrap();
            let ticket = seatwise_engine::Ticket::parse(&j.ticket).unwrap();
            let range = stats.lock().unwrap().eta_range(j.rank);
            // One buyer in six gives up after 0–5 s and stops polling.
            let gives_up = (i % 6 == 5).then(|| Duration::from_millis(rand::random::<u64>() % 5000));
            let mut state = j.state;
            while state == TicketState::Waiting {
                if gives_up.is_some_and(|g| joined.elapsed() > g) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                state = e.status(&sc, &ticket).await.unwrap().state;
            }
            if state != TicketState::Admitted {
                return;
            }
            let actual = joined.elapsed().as_secs_f64() * 1000.0;
            if j.rank > 1 {
                samples.lock().unwrap().push(Sample {
                    joined_ms: (joined - start).as_secs_f64() * 1000.0,
                    rank: j.rank,
                    seed_ms: j.eta_ms as f64,
                    p50_ms: range.p50_ms as f64,
                    p10_ms: range.p10_ms as f64,
                    p90_ms: range.p90_ms as f64,
                    actual_ms: actual,
                });
            }
            tokio::time::sleep(Duration::from_millis(500 + rand::random::<u64>() % 1000)).await;
            let _ = e.leave(&sc, &ticket).await;
        });
    }
    e.set_capacity(&sc, 10).await.unwrap();
    while set.join_next().await.is_some() {}
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = refresher.await;
    let s = std::mem::take(&mut *samples.lock().unwrap());
    if let Ok(path) = std::env::var("SEATWISE_BENCH_ESTIMATES") {
        // Every sample, for a closer look: join time (ms from the start), rank, shown p50, actual wait.
        let rows: String =
            s.iter().map(|x| format!("{:.0},{},{:.0},{:.0}\n", x.joined_ms, x.rank, x.p50_ms, x.actual_ms)).collect();
        let _ = std::fs::write(path, format!("joined_ms,rank,p50_ms,actual_ms\n{rows}"));
    }
    let err = |f: &dyn Fn(&Sample) -> f64| median(s.iter().map(|x| (f(x) - x.actual_ms).abs() / x.actual_ms).collect());
    // Staff changed the capacity at 10 s and 20 s: no estimate made before can know it. The buyers whose
    // wait spanned neither change show what the estimator does when the present holds.
    let steady: Vec<&Sample> = s
        .iter()
        .filter(|x| [10_000.0, 20_000.0].iter().all(|c| !(x.joined_ms < *c && x.joined_ms + x.actual_ms > *c)))
        .collect();
    let inside = s.iter().filter(|x| x.actual_ms >= x.p10_ms && x.actual_ms <= x.p90_ms).count();
    println!(
        "\n## Wait estimates in a simulated sale ({buyers} buyers over 20 s, 1 in 6 gives up, capacity 15 → 30 → 10, {:.0} s)",
        start.elapsed().as_secs_f64()
    );
    println!("buyers who waited and were admitted: {}", s.len());
    println!("median absolute error, the design guide's rank × avgServiceMs: {:.0} %", err(&|x| x.seed_ms) * 100.0);
    println!(
        "median absolute error, the gateway's p50 (admissions counted over a moving window, drop-out): {:.0} %",
        err(&|x| x.p50_ms) * 100.0
    );
    println!(
        "  of which the {} buyers whose wait spanned no capacity change: {:.0} %",
        steady.len(),
        median(steady.iter().map(|x| (x.p50_ms - x.actual_ms).abs() / x.actual_ms).collect()) * 100.0
    );
    println!(
        "actual wait within the shown p10–p90 range: {:.0} % of buyers",
        inside as f64 * 100.0 / s.len().max(1) as f64
    );
    // What the queue itself reports: the sampled buyers' error, recorded in Redis at join and admission.
    let q = e.queue_stats(std::slice::from_ref(&sc)).await.unwrap().remove(0).unwrap();
    println!(
        "the queue's own report (stats, monitor): median absolute error {} over the last {} sampled buyers",
        q.estimate_error_pct.map(|p| format!("{p:.0} %")).unwrap_or_else(|| "-".into()),
        q.estimate_samples
    );
}
