//! Monitoring figures and their cost in round trips.

use std::time::Duration;

use seatwise_engine::ShowId;

use crate::lifecycle::buyer;
use crate::support::*;

#[tokio::test]
async fn show_queue_status_has_the_design_guides_fields_and_more() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 2, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    for i in 0..4 {
        e.join(&sc, &buyer(&format!("b{i}"))).await.unwrap();
    }
    let st = e.get_show_queue_status(&ShowId::new("s1").unwrap()).await.unwrap();
    let q = &st.queue_statuses[0];
    assert_eq!((q.sched_id.as_str(), q.sched_date.as_str()), ("d1", "2026-03-02"));
    assert_eq!((q.stats.queue_size, q.stats.active_sessions, q.stats.capacity), (3, 1, 1));
    assert_eq!(q.stats.estimated_wait_time, 3 * 60_000, "queueSize × avgServiceMs");
    assert_eq!(q.stats.admitted_total, 1);
    assert!(!q.paused);
    // The design guide's field names, in JSON.
    let j = serde_json::to_value(&st).unwrap();
    for f in
        ["schedId", "schedDate", "queueSize", "avgServiceMs", "estimatedWaitTime", "activeSessions", "pendingEvents"]
    {
        assert!(j["queueStatuses"][0].get(f).is_some(), "{f} in {j}");
    }
    assert_eq!(j["queueStatuses"][0]["pendingEvents"], 2, "queue_opened + your_turn wait in the outbox");
}

#[tokio::test]
async fn monitoring_every_open_queue_takes_two_round_trips() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("big", 60, 5, 60.0, 120.0)).await;
    open_show(e, &show("other", 40, 5, 60.0, 120.0)).await;
    e.create_show(&show("draft", 10, 5, 60.0, 120.0), &actor()).await.unwrap();
    e.all_open_queue_status().await.unwrap(); // the first refresh loads the stats script
    let before = e.redis().round_trips();
    let all = e.all_open_queue_status().await.unwrap();
    assert_eq!(e.redis().round_trips() - before, 2);
    assert_eq!(all.iter().map(|s| s.queue_statuses.len()).sum::<usize>(), 100, "drafts are not listed");
    // After a script-cache flush the first refresh reloads the scripts (one more round trip), then 2 again.
    e.redis().query::<String>(redis::cmd("SCRIPT").arg("FLUSH")).await.unwrap();
    let before = e.redis().round_trips();
    e.all_open_queue_status().await.unwrap();
    assert_eq!(e.redis().round_trips() - before, 3);
    let before = e.redis().round_trips();
    e.all_open_queue_status().await.unwrap();
    assert_eq!(e.redis().round_trips() - before, 2);
}

/// The shared history: one sample per 10-second slot whoever asks (two workers, a console), read back in
/// order with the figures of the time; a closed queue is not sampled.
#[tokio::test]
async fn queue_history_keeps_one_sample_per_slot_across_callers() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("h1", 1, 2, 60.0, 120.0)).await;
    let sc = scope("h1", "d1");
    fill_queue(e, &sc, 5).await;
    let other = seatwise_engine::Engine::new(
        seatwise_engine::redis_conn::Redis::connect(&seatwise_engine::redis_conn::ConnectOptions::new(
            t.target.clone(),
        ))
        .await
        .unwrap(),
    );
    // Two callers in the same slot: one sample. (A slot boundary between the calls would make two:
    // wait for the start of a slot first.)
    let wait = 10_000 - (chrono::Utc::now().timestamp_millis() % 10_000);
    if wait < 1_000 {
        tokio::time::sleep(Duration::from_millis(wait as u64 + 50)).await;
    }
    let wrote = e.sample_history(std::slice::from_ref(&sc)).await.unwrap()
        + other.sample_history(std::slice::from_ref(&sc)).await.unwrap();
    assert_eq!(wrote, 1);
    let h = e.queue_history(&sc, 0).await.unwrap();
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!((h[0].queue_size, h[0].active_sessions, h[0].capacity), (3, 2, 2));
    assert_eq!(h[0].at_ms % 10_000, 0, "the entry id is the slot");
    assert!(h[0].est_wait_ms > 0 && !h[0].paused && h[0].seats_left.is_none());
    // The next slot adds the next sample; nothing before `since` is returned.
    tokio::time::sleep(Duration::from_millis((10_000 - chrono::Utc::now().timestamp_millis() % 10_000) as u64 + 50))
        .await;
    e.perform(&actor(), &sc, &seatwise_engine::StaffAction::Pause).await.unwrap();
    assert_eq!(other.sample_history(std::slice::from_ref(&sc)).await.unwrap(), 1);
    let h = e.queue_history(&sc, 0).await.unwrap();
    assert_eq!(h.len(), 2);
    assert!(h[1].paused && h[1].at_ms == h[0].at_ms + 10_000);
    assert_eq!(e.queue_history(&sc, h[1].at_ms).await.unwrap().len(), 1);
    // A closed queue is history: no more samples.
    e.update_show_status(
        &seatwise_engine::ShowId::new("h1").unwrap(),
        seatwise_engine::ShowStatus::Closed,
        &actor(),
        None,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis((10_000 - chrono::Utc::now().timestamp_millis() % 10_000) as u64 + 50))
        .await;
    assert_eq!(e.sample_history(std::slice::from_ref(&sc)).await.unwrap(), 0);
}
