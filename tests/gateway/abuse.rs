//! Rate limits held in Redis across gateways, the proof-of-work challenge, and Ably tokens only for the
//! caller's own live ticket (with ably-js as the client).

use std::process::Command;

use reqwest::StatusCode;
use seatwise_engine::gate::{Challenge, KeyRing};
use seatwise_engine::{Actor, StaffAction};
use seatwise_gateway::{Limit, Limits};
use serde_json::json;

use crate::support::*;
use crate::*;

#[tokio::test]
async fn rate_limits_hold_across_two_gateways_and_say_when_to_retry() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let limits = Limits { join_per_buyer: Limit::per_minute(3), status_per_ip: Limit::per_minute(5), ..Limits::OFF };
    let (g1, g2) = (
        gateway(&t.engine, Config { limits, ..crate::config() }).await,
        gateway(&t.engine, Config { limits, ..crate::config() }).await,
    );
    let mut b = Browser::new();
    let bases = [g1.url(), g2.url()];
    for i in 0..3 {
        assert_eq!(b.join(&bases[i % 2], "s1:d1").await.status, StatusCode::OK);
    }
    let r = b.join(&bases[1], "s1:d1").await;
    assert_eq!((r.status, r.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "{:?}", r.body);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Status calls from one address: five in a minute across both gateways, then 429.
    let ticket = b.join(&bases[0], "s1:d1").await.body["ticket"].clone();
    assert!(ticket.is_null(), "still limited");
    let mut other = Browser::new();
    let tk = other.post(&format!("{}/v1/queues/s1/d1/tickets", bases[0]), json!({})).await.body["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    let codes: Vec<u16> = {
        let mut v = Vec::new();
        for i in 0..6 {
            v.push(other.get(&Browser::ticket_url(&bases[i % 2], "s1:d1", &tk, "")).await.status.as_u16());
        }
        v
    };
    assert_eq!(codes, vec![200, 200, 200, 200, 200, 429]);
}

#[tokio::test]
async fn a_queue_with_a_challenge_takes_only_fresh_solved_single_use_proofs() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 2, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let actor = Actor::new("staff", "box-office");
    t.engine.perform(&actor, &sc, &StaffAction::Challenge { bits: 10 }).await.unwrap();
    let config = Config { public_cache: std::time::Duration::ZERO, ..crate::config() };
    let g = gateway(&t.engine, config).await;
    let base = g.url();
    let mut b = Browser::new();
    let r = b.join(&base, "s1:d1").await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "challenge_required"), "{:?}", r.body);
    let c = b.post(&format!("{base}/v1/queues/s1/d1/challenge"), json!({})).await;
    assert_eq!(c.body["bits"], 10, "{:?}", c.body);
    let text = c.body["challenge"].as_str().unwrap().to_string();
    let tickets = format!("{base}/v1/queues/s1/d1/tickets");
    let wrong = b.post(&tickets, json!({"challenge": text, "solution": "x1"})).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{:?}", wrong.body);
    let solution = Challenge::solve(&text, 10).to_string();
    let ok = b.post(&tickets, json!({"challenge": text, "solution": solution})).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let replay = Browser::new().post(&tickets, json!({"challenge": text, "solution": solution})).await;
    assert_eq!((replay.status, replay.code()), (StatusCode::CONFLICT, "challenge_used"), "{:?}", replay.body);
    // Issued for another queue: refused.
    let other = b.post(&format!("{base}/v1/queues/s1/d2/challenge"), json!({})).await;
    assert_eq!(other.body["bits"], 0, "d2 has no challenge");
    t.engine.perform(&actor, &scope("s1", "d2"), &StaffAction::Challenge { bits: 4 }).await.unwrap();
    let other = b.post(&format!("{base}/v1/queues/s1/d2/challenge"), json!({})).await.body["challenge"]
        .as_str()
        .unwrap()
        .to_string();
    let sol = Challenge::solve(&other, 4).to_string();
    let r = Browser::new().post(&tickets, json!({"challenge": other, "solution": sol})).await;
    assert!(r.body["message"].as_str().unwrap().contains("another queue"), "{:?}", r.body);
    // Stale: signed with the gateways' key but expired.
    let key = crate::keys().derive("challenge");
    let (_, old) = Challenge::issue(&key, &sc, 10, seatwise_engine::gate::now_ms() - 10 * 60_000);
    let sol = Challenge::solve(&old, 10).to_string();
    let r = Browser::new().post(&tickets, json!({"challenge": old, "solution": sol})).await;
    assert!(r.body["message"].as_str().unwrap().contains("expired"), "{:?}", r.body);
    // Signed with another key: not ours.
    let (_, forged) = Challenge::issue(
        &KeyRing::from_text("k", &"f".repeat(32), "").unwrap(),
        &sc,
        10,
        seatwise_engine::gate::now_ms(),
    );
    let sol = Challenge::solve(&forged, 10).to_string();
    let r = Browser::new().post(&tickets, json!({"challenge": forged, "solution": sol})).await;
    assert!(r.body["message"].as_str().unwrap().contains("not a challenge issued"), "{:?}", r.body);
    // Raised difficulty: a challenge of the old one no longer passes.
    let easy = b.post(&format!("{base}/v1/queues/s1/d1/challenge"), json!({})).await.body["challenge"]
        .as_str()
        .unwrap()
        .to_string();
    t.engine.perform(&actor, &sc, &StaffAction::Challenge { bits: 12 }).await.unwrap();
    let sol = Challenge::solve(&easy, 10).to_string();
    let r = Browser::new().post(&tickets, json!({"challenge": easy, "solution": sol})).await;
    assert!(r.body["message"].as_str().unwrap().contains("harder"), "{:?}", r.body);
    let e = t.engine.perform(&actor, &sc, &StaffAction::Challenge { bits: 99 }).await.unwrap_err().to_string();
    assert!(e.contains("0 (off) to 24"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ably_js_gets_a_token_through_the_gateway_as_its_auth_url_for_the_buyers_own_ticket_only() {
    use seatwise_ably_standin::{Config as AblyConfig, StandIn};
    use seatwise_engine::connect::AblyOptions;
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let standin = StandIn::start(AblyConfig::default()).await;
    let mut o = AblyOptions::new(&standin.key(), "seatwise-test");
    o.endpoint = Some(standin.url());
    let key = "service key of the venue, 32+ chars";
    let config = Config { service_key: Some(key.into()), ..crate::config() };
    let g = gateway_with_ably(&t.engine, config, Some(o.build().unwrap())).await;
    let base = g.url();
    let ticket = Browser::service(key, "alice").join(&base, "s1:d1").await.body["ticket"].as_str().unwrap().to_string();
    let auth_url = Browser::ticket_url(&base, "s1:d1", &ticket, "/ably-token");
    // Someone else: no token request.
    let r = Browser::new().get(&auth_url).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/ably-js");
    let port = standin.url().rsplit(':').next().unwrap().to_string();
    let args = [format!("{dir}/auth-url.mjs"), auth_url.clone(), key.to_string(), "alice".into(), port];
    let o = tokio::task::spawn_blocking(move || Command::new("node").args(&args).output())
        .await
        .unwrap()
        .expect("node is installed by scripts/setup.sh");
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{out}");
    let token: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(token["clientId"], "alice", "{token}");
    let cap: serde_json::Value = serde_json::from_str(token["capability"].as_str().unwrap()).unwrap();
    let channels: Vec<&String> = cap.as_object().unwrap().keys().collect();
    assert_eq!(channels.len(), 2, "the queue's public channel and the ticket's own: {cap}");
    assert!(channels.iter().all(|c| c.contains("s1:d1")), "{cap}");
    assert!(channels.iter().any(|c| c.contains(&ticket)), "{cap}");
    assert!(cap.as_object().unwrap().values().all(|ops| ops == &json!(["subscribe"])), "{cap}");
}
