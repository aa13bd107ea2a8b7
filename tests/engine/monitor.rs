//! Monitoring figures and their cost in round trips.

use seatwise_engine::ShowId;

use crate::lifecycle::buyer;
use crate::support::*;

#[tokio::test]
async fn show_queue_status_has_the_seed_fields_and_more() {
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
    // The seed's field names, in JSON.
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
