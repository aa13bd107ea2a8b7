//! The Ably REST client against the local stand-in, which checks auth, bodies and limits as Ably does.

use std::time::{Duration, Instant};

use seatwise_ably::{AblyConfig, AblyRest, ApiKey, BatchSpec, Capability, Endpoint, Error, Message, TokenParams};
use seatwise_ably_standin::{Config, Fault, StandIn};
use serde_json::json;

fn client(s: &StandIn, tweak: impl FnOnce(&mut AblyConfig)) -> AblyRest {
    let mut cfg = AblyConfig::new(ApiKey::parse(&s.key()).unwrap());
    cfg.endpoint = Some(Endpoint::parse(&s.url()).unwrap());
    cfg.max_requests_per_second = 0.0;
    cfg.request_timeout = Duration::from_millis(800);
    tweak(&mut cfg);
    AblyRest::new(cfg).unwrap()
}

/// The stand-in's own address as a "fallback host", so retries land on the same server.
fn self_fallback(s: &StandIn) -> Vec<String> {
    vec![s.url().trim_start_matches("http://").to_string(); 3]
}

#[tokio::test]
async fn publish_sends_headers_auth_and_json_data_as_ably_specifies() {
    let s = StandIn::start(Config::default()).await;
    let c = client(&s, |_| {});
    c.publish(
        "seatwise:queue:a:b",
        &[Message::new("queue.paused", json!({"v": 1})), Message::new("note", json!("plain"))],
    )
    .await
    .unwrap();
    let got = s.messages("seatwise:queue:a:b");
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].name.as_str(), &got[0].data), ("queue.paused", &json!({"v": 1})));
    assert_eq!(got[1].data, json!("plain"));
    let (a, b) = (got[0].id.clone().unwrap(), got[1].id.clone().unwrap());
    assert_eq!(a.rsplit_once(':').unwrap().0, b.rsplit_once(':').unwrap().0, "one base per publish");
    assert!(a.ends_with(":0") && b.ends_with(":1"));
    assert!(a.rsplit_once(':').unwrap().0.len() >= 12, "base64 of at least 9 bytes");
    let seen = &s.seen()[0];
    assert_eq!(seen.version.as_deref(), Some("6"));
    assert!(seen.agent.as_deref().unwrap().starts_with("seatwise/"));
    assert!(seen.authorization.as_deref().unwrap().starts_with("Basic "));
    assert_eq!(seen.path, "/channels/seatwise%3Aqueue%3Aa%3Ab/messages");
}

#[tokio::test]
async fn errors_are_parsed_and_never_carry_the_key() {
    let s = StandIn::start(Config::default()).await;
    let mut cfg = AblyConfig::new(ApiKey::parse("testapp.testkey:wrong-secret-value").unwrap());
    cfg.endpoint = Some(Endpoint::parse(&s.url()).unwrap());
    let c = AblyRest::new(cfg).unwrap();
    let err = c.publish("x", &[Message::new("n", json!("d"))]).await.unwrap_err();
    match &err {
        Error::Ably(e) => assert_eq!((e.status_code, e.code), (401, 40101)),
        other => panic!("{other}"),
    }
    assert!(!format!("{err} {err:?} {c:?}").contains("wrong-secret-value"));
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_timed_out_publish_is_retried_with_the_same_ids_and_delivered_once() {
    let s = StandIn::start(Config::default()).await;
    let c = client(&s, |cfg| cfg.fallback_hosts = Some(self_fallback(&s)));
    // The first try hangs past the client's timeout, but the server still accepts it afterwards.
    s.inject(Fault::Hang(Duration::from_millis(1200)));
    c.publish("ch", &[Message::new("once", json!({"n": 1}))]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.messages("ch").len(), 1, "the repeat had the same id and was dropped");
    assert_eq!(c.stats().retries, 1);
}

#[tokio::test]
async fn server_errors_and_dropped_connections_fall_back_at_most_three_times() {
    let s = StandIn::start(Config::default()).await;
    let c = client(&s, |cfg| cfg.fallback_hosts = Some(self_fallback(&s)));
    s.inject(Fault::Status(503));
    s.inject(Fault::Drop);
    c.publish("ch", &[Message::new("m", json!("x"))]).await.unwrap();
    assert_eq!((s.requests(), s.messages("ch").len()), (3, 1));
    for _ in 0..4 {
        s.inject(Fault::Status(500));
    }
    let before = s.requests();
    let err = c.publish("ch", &[Message::new("m", json!("y"))]).await.unwrap_err();
    assert_eq!(s.requests() - before, 4, "one try and three retries");
    assert!(err.is_transient(), "{err}");
    // A 4xx is final: no retry.
    s.inject(Fault::Status(400));
    let before = s.requests();
    assert!(c.publish("ch", &[Message::new("m", json!("z"))]).await.is_err());
    assert_eq!(s.requests() - before, 1);
}

#[tokio::test]
async fn a_working_fallback_is_preferred_afterwards() {
    let primary = StandIn::start(Config::default()).await;
    let fallback = StandIn::start(Config::default()).await;
    let c = client(&primary, |cfg| {
        cfg.fallback_hosts = Some(vec![fallback.url().trim_start_matches("http://").to_string()])
    });
    primary.inject(Fault::Status(502));
    c.publish("ch", &[Message::new("a", json!(1))]).await.unwrap();
    c.publish("ch", &[Message::new("b", json!(2))]).await.unwrap();
    assert_eq!(primary.requests(), 1, "after the fallback worked, the primary is not tried first");
    assert_eq!(fallback.messages("ch").len(), 2);
}

#[tokio::test]
async fn without_explicit_fallbacks_an_explicit_endpoint_is_not_retried() {
    let s = StandIn::start(Config::default()).await;
    let c = client(&s, |_| {});
    s.inject(Fault::Status(500));
    assert!(c.publish("ch", &[Message::new("a", json!(1))]).await.is_err());
    assert_eq!(s.requests(), 1);
}

#[tokio::test]
async fn batch_publish_reports_each_channel() {
    for legacy in [false, true] {
        let s = StandIn::start(Config { legacy_batch: legacy, ..Config::default() }).await;
        let c = client(&s, |_| {});
        s.fail_channel("c2", 1);
        let specs: Vec<BatchSpec> = ["c1", "c2", "c3"]
            .iter()
            .map(|ch| BatchSpec {
                channels: vec![ch.to_string()],
                messages: vec![Message::new("m", json!({"to": ch}))],
            })
            .collect();
        let r = c.batch_publish(&specs).await.unwrap();
        let failed: Vec<&str> = r.iter().filter(|x| x.outcome.is_err()).map(|x| x.channel.as_str()).collect();
        assert_eq!(failed, vec!["c2"], "legacy={legacy}");
        assert_eq!(r.len(), 3);
        assert_eq!(s.messages("c1")[0].data, json!({"to": "c1"}));
        assert!(s.messages("c2").is_empty());
        // Only the failed channel is retried.
        let again = c.batch_publish(&specs[1..2]).await.unwrap();
        assert!(again[0].outcome.is_ok());
        assert_eq!(s.messages("c2").len(), 1);
    }
}

#[tokio::test]
async fn batch_limits_are_checked_before_sending() {
    let s = StandIn::start(Config::default()).await;
    let c = client(&s, |_| {});
    let specs: Vec<BatchSpec> = (0..101)
        .map(|i| BatchSpec { channels: vec![format!("c{i}")], messages: vec![Message::new("m", json!(i))] })
        .collect();
    let err = c.batch_publish(&specs).await.unwrap_err();
    assert!(err.to_string().contains("at most 100"), "{err}");
    let big = Message::new("m", json!("x".repeat(70_000)));
    assert!(c.publish("c", &[big]).await.unwrap_err().to_string().contains("65536"));
    assert_eq!(s.requests(), 0);
}

#[tokio::test]
async fn the_client_paces_itself_under_the_request_ceiling() {
    let s = StandIn::start(Config::default()).await;
    let c = client(&s, |cfg| cfg.max_requests_per_second = 20.0);
    let t = Instant::now();
    for i in 0..6 {
        c.publish("ch", &[Message::new("m", json!(i))]).await.unwrap();
    }
    // 6 requests at 20/s: the last may start 250 ms after the first, not before.
    assert!(t.elapsed() >= Duration::from_millis(240), "{:?}", t.elapsed());
}

#[tokio::test]
async fn token_requests_are_signed_and_exchanged() {
    let s = StandIn::start(Config::default()).await;
    let c = client(&s, |_| {});
    let now = c.time().await.unwrap();
    let cap = Capability::new().allow("seatwise:queue:a:b", &["subscribe"]);
    let req = c.create_token_request(TokenParams {
        ttl_ms: Some(600_000),
        capability: Some(cap),
        client_id: Some("buyer-1".into()),
        timestamp: Some(now),
        nonce: None,
    });
    let tok = c.request_token(&req).await.unwrap();
    assert_eq!(tok.client_id.as_deref(), Some("buyer-1"));
    assert_eq!(tok.expires - tok.issued, 600_000);
    assert!(s.seen().last().unwrap().authorization.is_none(), "requestToken needs no Authorization");
    // The same request again: the nonce was used.
    let e = c.request_token(&req).await.unwrap_err();
    assert!(matches!(e, Error::Ably(ref a) if a.code == 40105), "{e}");
    // A tampered mac, and a stale timestamp, are refused.
    let mut bad = c.create_token_request(TokenParams { timestamp: Some(now), ..Default::default() });
    bad.mac = "AAAA".into();
    assert!(matches!(c.request_token(&bad).await.unwrap_err(), Error::Ably(ref a) if a.code == 40101));
    let old = c.create_token_request(TokenParams { timestamp: Some(now - 600_000), ..Default::default() });
    assert!(matches!(c.request_token(&old).await.unwrap_err(), Error::Ably(ref a) if a.code == 40104));
}

/// Reads an SSE response from a raw connection until `until` appears in what arrived (or 5 s pass).
async fn sse_read(s: &StandIn, query: &str, last_event: Option<&str>, until: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(s.url().trim_start_matches("http://")).await.unwrap();
    let extra = last_event.map(|id| format!("Last-Event-ID: {id}\r\n")).unwrap_or_default();
    let req = format!("GET /sse?{query} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n{extra}\r\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    while !got.contains(until) && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), conn.read(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
            _ => {}
        }
    }
    got
}

#[tokio::test]
async fn the_sse_endpoint_streams_what_is_published_to_token_holders_and_resumes() {
    let s = StandIn::start(Config::default()).await;
    let c = client(&s, |_| {});
    let cap = Capability::new().allow("q:a", &["subscribe"]).allow("t:a:1", &["subscribe"]);
    let req = c.create_token_request(TokenParams { capability: Some(cap), ..Default::default() });
    let tok = c.request_token(&req).await.unwrap().token;
    c.publish("q:a", &[Message::new("queue.paused", json!({"seq": "1-0"}))]).await.unwrap();
    c.publish("other", &[Message::new("not.mine", json!({}))]).await.unwrap();
    c.publish("t:a:1", &[Message::new("ticket.your_turn", json!({"seq": "2-0"}))]).await.unwrap();
    // rewind=1: the last message of each channel first, then live.
    let q = format!("v=1.2&channels=q:a,t:a:1&accessToken={tok}&rewind=1");
    let got = sse_read(&s, &q, None, "ticket.your_turn").await;
    assert!(got.contains("text/event-stream") && got.contains("access-control-allow-origin: *"), "{got}");
    assert!(got.contains("queue.paused") && got.contains("ticket.your_turn"), "{got}");
    assert!(!got.contains("not.mine"), "only the channels asked for: {got}");
    assert!(got.contains(r#""encoding":"json""#) && got.contains(r#""channel":"t:a:1""#), "enveloped: {got}");
    assert!(got.contains("\nid: 3\n") || got.contains("id: 3\n"), "event ids are the stream's serials: {got}");
    // Resuming after event 1 (Last-Event-ID) sends what came after it on these channels, nothing before.
    let got = sse_read(&s, &format!("v=1.2&channels=q:a,t:a:1&accessToken={tok}"), Some("1"), "your_turn").await;
    assert!(got.contains("ticket.your_turn") && !got.contains("queue.paused"), "{got}");
    // Live: a message published while the stream is open arrives.
    let (s2, q2) = (&s, format!("v=1.2&channels=q:a&accessToken={tok}&enveloped=false"));
    let reader = sse_read(s2, &q2, None, "Doors at 7");
    let publish = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.publish("q:a", &[Message::new("queue.announcement", json!({"message": "Doors at 7"}))]).await.unwrap();
    };
    let (got, _) = tokio::join!(reader, publish);
    assert!(got.contains(r#"data: {"message":"Doors at 7"}"#), "bare data when enveloped=false: {got}");
    // Refusals come as an error event with Ably's error JSON.
    let got = sse_read(&s, "v=1.2&channels=q:a&accessToken=nope", None, "event: error").await;
    assert!(got.contains("event: error") && got.contains("40101"), "{got}");
    let got = sse_read(&s, &format!("v=1.2&channels=other&accessToken={tok}"), None, "event: error").await;
    assert!(got.contains("40160"), "no subscribe capability on that channel: {got}");
    let got = sse_read(&s, &format!("channels=q:a&accessToken={tok}"), None, "event: error").await;
    assert!(got.contains("40000"), "v is required: {got}");
}
