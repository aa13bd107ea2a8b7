//! The buyer edge under attack (SECURITY.md): every finding of the security review as a test, tried the way
//! an attacker did, against real gateways on a real redis-server over real HTTP (raw TCP where the attack
//! is below HTTP). Each asserts the attack fails and leaves nothing behind.
//!
//! Why one file of ~600 lines: one attack per finding of the security review (SECURITY.md), kept together
//! so the review reads as one file and no finding can quietly drop out.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use seatwise_engine::gate::{KeyRing, Pass, now_ms};
use seatwise_engine::{BuyerId, SeatMap};
use seatwise_gateway::identity::IdentityConfig;
use seatwise_gateway::{Limit, Limits};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;
use crate::*;

/// The statuses of `n` calls made one after another.
async fn statuses<F: Future<Output = Answer>>(n: usize, call: impl Fn() -> F) -> Vec<u16> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(call().await.status.as_u16());
    }
    v
}

/// Every value of every key a watch-only user can read (strings, hashes, sets, sorted sets, streams).
async fn everything_a_watcher_reads(port: u16) -> Vec<String> {
    let url = format!("redis://watcher:watch-pw-not-real@127.0.0.1:{port}");
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("seatwise:*").query_async(&mut c).await.unwrap();
    let mut out = Vec::new();
    for k in keys {
        let kind: String = redis::cmd("TYPE").arg(&k).query_async(&mut c).await.unwrap();
        let v: redis::Value = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&k).query_async(&mut c).await.unwrap(),
            "hash" => redis::cmd("HGETALL").arg(&k).query_async(&mut c).await.unwrap(),
            "set" => redis::cmd("SMEMBERS").arg(&k).query_async(&mut c).await.unwrap(),
            "zset" => redis::cmd("ZRANGE").arg(&k).arg(0).arg(-1).query_async(&mut c).await.unwrap(),
            "stream" => redis::cmd("XRANGE").arg(&k).arg("-").arg("+").query_async(&mut c).await.unwrap(),
            _ => continue,
        };
        flatten(&v, &mut out);
    }
    out
}

fn flatten(v: &redis::Value, out: &mut Vec<String>) {
    match v {
        redis::Value::BulkString(b) => out.push(String::from_utf8_lossy(b).into_owned()),
        redis::Value::Array(items) | redis::Value::Set(items) => items.iter().for_each(|i| flatten(i, out)),
        redis::Value::Map(kv) => kv.iter().for_each(|(k, v)| {
            flatten(k, out);
            flatten(v, out);
        }),
        _ => {}
    }
}

/// Finding 1 (critical): nothing a watch-only user can read lets anyone mint a buyer cookie or a pass.
#[tokio::test]
async fn nothing_a_watch_only_user_reads_forges_a_cookie_or_a_pass() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let mut acl = redis::cmd("ACL");
    acl.arg("SETUSER").arg("watcher").arg(">watch-pw-not-real").arg(seatwise_engine::redis_conn::WATCH_ONLY_ACL);
    t.engine.redis().query::<String>(&acl).await.unwrap();
    // A gateway of an older release left its key in Redis: a configured gateway deletes it at start.
    let legacy = seatwise_engine::keys::LEGACY_GATEWAY_KEY;
    t.engine.redis().query::<String>(redis::cmd("SET").arg(legacy).arg("k".repeat(64))).await.unwrap();
    let gw = std::sync::Arc::new(Gateway::new(t.engine.clone(), None, crate::config()).await.unwrap());
    gw.forget_legacy_key().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let g = Running::start(listener, gw).await.unwrap();
    let base = g.url();
    let mut victim = Browser::new();
    let holder = victim.join(&base, "s1:d1").await;
    assert_eq!(holder.body["state"], "admitted");
    let v = victim.join(&base, "s1:d1").await;
    let ticket = v.body["ticket"].as_str().unwrap().to_string();
    let waiting = Browser::new().join(&base, "s1:d1").await;
    let never_admitted = waiting.body["ticket"].as_str().unwrap().to_string();

    let values = everything_a_watcher_reads(t.server.port()).await;
    let buyers: Vec<&String> = values.iter().filter(|v| v.starts_with("web:")).collect();
    assert!(!buyers.is_empty(), "the watcher sees buyer ids (as the review found)");
    let candidates: Vec<&String> = values.iter().filter(|v| v.len() >= 32).collect();
    assert!(!values.iter().any(|v| v == &"k".repeat(64)), "the legacy key was deleted");
    for c in candidates {
        let ring = KeyRing::from_text("candidate", c, "").unwrap();
        // A cookie for the victim's buyer id, signed with the candidate: not the victim.
        let ids = IdentityConfig {
            service_key: None,
            browser_direct: true,
            cookie_keys: ring.derive("buyer-cookie"),
            cookie_secure: true,
        };
        for b in &buyers {
            let cookie = ids.cookie_value(&BuyerId::new(b).unwrap(), now_ms() / 1000);
            let mut forger = Browser { cookie: Some(format!("__Host-seatwise_buyer={cookie}")), ..Browser::new() };
            let r = forger.get(&Browser::ticket_url(&base, "s1:d1", &ticket, "")).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "a forged cookie was taken: {:?}", r.body);
        }
        // A pass for a ticket that was never admitted, signed with the candidate: refused.
        let pass =
            Pass { scope: "s1:d1".into(), ticket: never_admitted.clone(), exp: now_ms() + 60_000, kid: String::new() }
                .sign(&ring.derive("admission-pass"));
        let r = Browser::new().post(&format!("{base}/v1/passes/verify"), json!({ "pass": pass })).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "invalid_pass"), "{:?}", r.body);
    }
    // The victim still holds their place.
    let s = victim.get(&Browser::ticket_url(&base, "s1:d1", &ticket, "")).await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
}

/// Finding 2 (high): seats outside the seat map can be neither held nor booked, through the gateway or the
/// engine, and seat-aware admission keeps counting only real seats.
#[tokio::test]
async fn seats_outside_the_map_are_refused_by_the_gateway_and_by_the_script() {
    let t = start().await;
    let mut s = show("s1", 1, 2, 60.0, 120.0);
    s.schedules[0].seat_map = Some(SeatMap { rows: vec!["A".into(), "B".into()], seats_per_row: 3, zones: Vec::new() });
    open_show(&t.engine, &s).await;
    let g = gateway(&t.engine, crate::config()).await;
    let base = g.url();
    let mut b = Browser::new();
    let ticket = b.join(&base, "s1:d1").await.body["ticket"].as_str().unwrap().to_string();
    // A seat-aware queue admits at the next heartbeat.
    let s = b.get(&Browser::ticket_url(&base, "s1:d1", &ticket, "")).await;
    assert_eq!(s.body["state"], "admitted", "{:?}", s.body);
    let holds = Browser::ticket_url(&base, "s1:d1", &ticket, "/holds");
    for fake in [json!(["ZZ1"]), json!(["A4"]), json!(["A0"]), json!(["A01"]), json!(["A1", "QQ2"])] {
        let r = b.post(&holds, json!({ "seats": fake })).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "no_such_seat"), "{fake}: {:?}", r.body);
    }
    // The script checks too: a caller of the engine (not the gateway) is refused the same way.
    let sc = scope("s1", "d1");
    let tk = seatwise_engine::Ticket::parse(&ticket).unwrap();
    let e = t.engine.hold(&sc, &tk, &[seatwise_engine::SeatId::new("ZZ1").unwrap()]).await.unwrap_err();
    assert_eq!(e.code(), seatwise_engine::ErrorCode::NoSuchSeat, "{e}");
    let before = queue_stats(&t.engine, &sc).await.seats_left;
    assert_eq!(before, 6, "every real seat is left");
    let r = b.post(&holds, json!({"seats": ["B3"]})).await;
    assert_eq!(r.status, StatusCode::OK, "a real seat: {:?}", r.body);
    let c = b.post(&Browser::ticket_url(&base, "s1:d1", &ticket, "/complete"), json!({})).await;
    assert_eq!(c.body["seats"], json!(["B3"]));
    assert_eq!(queue_stats(&t.engine, &sc).await.seats_left, 5);
}

/// Finding 3 (high): behind a proxy, the address is the one the proxy appended, not one the client wrote.
#[tokio::test]
async fn a_client_cannot_choose_its_address_behind_a_proxy() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let limits = Limits { join_per_ip: Limit::per_minute(3), ..Limits::OFF };
    let g = gateway(&t.engine, Config { limits, proxy_hops: 1, ..crate::config() }).await;
    let base = g.url();
    let mut codes = Vec::new();
    for i in 0..6 {
        // The client writes a fresh address first; the load balancer appends the one it saw.
        let mut b = Browser::new();
        b.headers = vec![("x-forwarded-for".into(), format!("10.9.{i}.1, 203.0.113.7"))];
        codes.push(b.join(&base, "s1:d1").await.status.as_u16());
    }
    assert_eq!(codes, vec![200, 200, 200, 429, 429, 429]);
    // Another client (another appended address) is not affected.
    let mut other = Browser::new();
    other.headers = vec![("x-forwarded-for".into(), "203.0.113.8".into())];
    assert_eq!(other.join(&base, "s1:d1").await.status, StatusCode::OK);
    // IPv6: one subscriber's /64 is one address for the limits.
    let mut codes = Vec::new();
    for i in 0..4 {
        let mut b = Browser::new();
        b.headers = vec![("x-forwarded-for".into(), format!("2001:db8:5:6:{i:x}::1"))];
        codes.push(b.join(&base, "s1:d1").await.status.as_u16());
    }
    assert_eq!(codes, vec![200, 200, 200, 429]);
}

/// Finding 4: a pass is valid online only while its session is: not after leave, booking or removal.
#[tokio::test]
async fn a_pass_ends_with_its_session() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 3, 60.0, 120.0)).await;
    let g = gateway(&t.engine, crate::config()).await;
    let base = g.url();
    let verify = format!("{base}/v1/passes/verify");
    let sc = scope("s1", "d1");
    for how in ["leave", "complete", "removed"] {
        let mut b = Browser::new();
        let a = b.join(&base, "s1:d1").await;
        assert_eq!(a.body["state"], "admitted", "{:?}", a.body);
        let (ticket, pass) = (a.body["ticket"].as_str().unwrap().to_string(), a.body["pass"].clone());
        let ok = Browser::new().post(&verify, json!({ "pass": pass })).await;
        assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
        match how {
            "leave" => {
                b.call(Method::DELETE, &Browser::ticket_url(&base, "s1:d1", &ticket, ""), None).await;
            }
            "complete" => {
                b.post(&Browser::ticket_url(&base, "s1:d1", &ticket, "/holds"), json!({"seats": ["A1"]})).await;
                b.post(&Browser::ticket_url(&base, "s1:d1", &ticket, "/complete"), json!({})).await;
            }
            _ => {
                t.engine.remove_ticket(&sc, &seatwise_engine::Ticket::parse(&ticket).unwrap()).await.unwrap();
            }
        }
        let r = Browser::new().post(&verify, json!({ "pass": pass })).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "invalid_pass"), "after {how}: {:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains("ended"), "{:?}", r.body);
    }
}

type Headers<'a> = Vec<(&'a str, &'a str)>;

/// Finding 5: a cross-site form post gets no identity and replaces no cookie; bodies are JSON only.
#[tokio::test]
async fn cross_site_posts_and_non_json_bodies_are_refused_before_any_work() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let g =
        gateway(&t.engine, Config { cors_origins: vec!["https://tickets.example".into()], ..crate::config() }).await;
    let base = g.url();
    let tickets = format!("{base}/v1/queues/s1/d1/tickets");
    let client = reqwest::Client::new();
    let cases: Vec<(Headers, &str, StatusCode, &str)> = vec![
        // A form on a foreign site (the browser sends its Origin and Sec-Fetch-Site).
        (
            vec![
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "a=1",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            vec![("origin", "https://evil.example"), ("content-type", "application/json")],
            "{}",
            StatusCode::FORBIDDEN,
            "cross_site",
        ),
        (vec![("sec-fetch-site", "cross-site")], "", StatusCode::FORBIDDEN, "cross_site"),
        (
            vec![("sec-fetch-site", "same-site"), ("content-type", "application/json")],
            "{}",
            StatusCode::FORBIDDEN,
            "cross_site",
        ),
        (vec![("origin", "null"), ("content-type", "application/json")], "{}", StatusCode::FORBIDDEN, "cross_site"),
        (vec![("content-type", "text/plain")], "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (vec![], "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
    ];
    for (headers, body, status, code) in cases {
        let mut r = client.post(&tickets).body(body);
        for (k, v) in &headers {
            r = r.header(*k, *v);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), status, "{headers:?}");
        assert!(r.headers().get("set-cookie").is_none(), "no identity for {headers:?}");
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(b["code"], code, "{headers:?}");
    }
    assert_eq!(queue_stats(&t.engine, &scope("s1", "d1")).await.tickets_issued, 0, "no join was made");
    // The page's own calls (same origin, also behind a proxy that rewrote Host), an allowed origin's, and a
    // server's (no Origin) pass.
    for headers in [
        vec![("origin", base.as_str()), ("sec-fetch-site", "same-origin")],
        vec![("origin", "https://tickets.example.com"), ("sec-fetch-site", "same-origin"), ("host", "upstream:8080")],
        vec![("origin", "https://tickets.example"), ("sec-fetch-site", "cross-site")],
        vec![],
    ] {
        let mut r = client.post(&tickets).header("content-type", "application/json; charset=utf-8").body("{}");
        for (k, v) in &headers {
            r = r.header(*k, *v);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{headers:?}");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("__Host-seatwise_buyer=") && cookie.contains("Secure"), "{cookie}");
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
}

/// Reads what the server sends until it closes the connection or `within` passes; None = still open.
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Finding 6: slow clients hold nothing for long: headers, idle keep-alives and bodies have deadlines, and
/// connections are capped.
#[tokio::test]
async fn slow_and_idle_clients_are_cut_off_and_connections_are_capped() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let config = Config {
        header_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        max_connections: 2,
        ..crate::config()
    };
    let g = gateway(&t.engine, config).await;
    // Headers sent slowly: the connection is closed with no request served.
    let mut slow = TcpStream::connect(g.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let got = read_until_closed(&mut slow, Duration::from_secs(4)).await.expect("closed after the header timeout");
    assert!(!got.contains("200 OK"), "{got}");
    // A kept-alive connection left idle is closed.
    let mut idle = TcpStream::connect(g.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let got = read_until_closed(&mut idle, Duration::from_secs(4)).await.expect("idle connection closed");
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    // A body that never arrives: 408 with {code, message}.
    let mut body = TcpStream::connect(g.addr).await.unwrap();
    body.write_all(
        b"POST /v1/queues/s1/d1/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
    )
    .await
    .unwrap();
    let got = read_until_closed(&mut body, Duration::from_secs(4)).await.unwrap_or_default();
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains(r#""code":"timeout""#), "{got}");
    // Two connections held: a third is not served until one goes (a gateway of its own, with a header
    // timeout long enough that a slow machine cannot free a slot early).
    let config = Config { header_timeout: Duration::from_secs(4), max_connections: 2, ..crate::config() };
    let g = gateway(&t.engine, config).await;
    let mut a = TcpStream::connect(g.addr).await.unwrap();
    let mut b = TcpStream::connect(g.addr).await.unwrap();
    a.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    b.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(g.addr).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let early = read_until_closed(&mut third, Duration::from_millis(1500)).await;
    assert!(early.is_none(), "served beyond the cap: {early:?}");
    // One held connection goes: the third is served.
    drop(a);
    let got = read_until_closed(&mut third, Duration::from_secs(3)).await.expect("served once a slot freed");
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    drop(b);
}

/// Finding 7: methods the API does not serve are counted as `other`; metrics are not on the buyers' port.
#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    let t = start().await;
    let g = gateway(&t.engine, crate::config()).await;
    let client = reqwest::Client::new();
    for i in 0..30 {
        let m = Method::from_bytes(format!("ZZMETHOD{i}").as_bytes()).unwrap();
        let r = client.request(m, format!("{}/healthz", g.url())).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(b["code"], "method_not_allowed", "finding 15: a body for 405 too");
    }
    let m = scrape_metrics(&t.engine).await;
    assert!(!m.contains("ZZMETHOD"), "a client chose a label value");
    assert!(m.contains(r#"method="other""#), "{m}");
    let r = client.get(format!("{}/metrics", g.url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Finding 8: the venue's server asks for challenges for all its buyers from one address: no address limit.
#[tokio::test]
async fn server_to_server_challenges_are_not_limited_by_the_venues_address() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let key = "service key of the venue, 32+ chars";
    let limits = Limits { join_per_ip: Limit::per_minute(2), join_per_buyer: Limit::per_minute(2), ..Limits::OFF };
    let g = gateway(&t.engine, Config { limits, service_key: Some(key.into()), ..crate::config() }).await;
    let url = format!("{}/v1/queues/s1/d1/challenge", g.url());
    for i in 0..6 {
        let r = Browser::service(key, &format!("buyer-{i}")).post(&url, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "buyer {i}: {:?}", r.body);
    }
    // A browser at one address is limited; one buyer of the venue too.
    assert_eq!(statuses(3, || async { Browser::new().post(&url, json!({})).await }).await, vec![200, 200, 429]);
    let one = || async { Browser::service(key, "buyer-x").post(&url, json!({})).await };
    assert_eq!(statuses(3, one).await, vec![200, 200, 429]);
}

async fn evalsha_calls(t: &TestRedis) -> u64 {
    let info: String = t.engine.redis().query(redis::cmd("INFO").arg("commandstats")).await.unwrap();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| l.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
        .sum()
}

async fn rate_limit_keys(t: &TestRedis, kind: &str) -> usize {
    let keys: Vec<String> =
        t.engine.redis().query(redis::cmd("KEYS").arg(format!("seatwise:rl:{{{kind}:*"))).await.unwrap();
    keys.len()
}

/// Finding 9: a refused call does no work: the address is checked first, then the buyer, then the work; a
/// browser that drops its cookie is a new buyer only as often as its address may make new ones.
#[tokio::test]
async fn refused_calls_do_no_work_and_fresh_identities_do_not_dodge_the_buyer_limit() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let limits = Limits {
        join_per_ip: Limit::per_minute(3),
        status_per_ip: Limit::per_minute(2),
        status_per_buyer: Limit::per_minute(100),
        join_per_buyer: Limit::per_minute(100),
        ..Limits::OFF
    };
    let g = gateway(&t.engine, Config { limits, ..crate::config() }).await;
    let base = g.url();
    let mut b = Browser::new();
    let ticket = b.join(&base, "s1:d1").await.body["ticket"].as_str().unwrap().to_string();
    for _ in 0..2 {
        Browser::new().join(&base, "s1:d1").await;
    }
    // Refused by the address: no per-buyer key, no ticket.
    let buyer_keys = rate_limit_keys(&t, "join-buyer").await;
    for _ in 0..20 {
        assert_eq!(Browser::new().join(&base, "s1:d1").await.status, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(rate_limit_keys(&t, "join-buyer").await, buyer_keys, "refused joins left per-buyer keys");
    assert_eq!(queue_stats(&t.engine, &scope("s1", "d1")).await.tickets_issued, 3);
    // A status call refused by the address runs one script (the limit), not the status script.
    let status = Browser::ticket_url(&base, "s1:d1", &ticket, "");
    b.get(&status).await;
    b.get(&status).await;
    let before = evalsha_calls(&t).await;
    let r = b.get(&status).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(evalsha_calls(&t).await - before, 1, "a refused status call did more than count itself");
    // Without a cookie, nobody's ticket: refused before any Redis call.
    let before = evalsha_calls(&t).await;
    let r = Browser::new().get(&status).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "not_owner"));
    assert_eq!(evalsha_calls(&t).await, before);

    // New identities per address are bounded: dropping the cookie does not reset a buyer's limit.
    let limits = Limits { new_buyer_per_ip: Limit::per_minute(2), join_per_buyer: Limit::per_minute(1), ..Limits::OFF };
    let g2 = gateway(&t.engine, Config { limits, ..crate::config() }).await;
    let fresh = || async { Browser::new().join(&g2.url(), "s1:d1").await };
    assert_eq!(statuses(4, fresh).await, vec![200, 200, 429, 429]);
}

/// Finding 10: every route a buyer reaches is limited (holds, release, complete, leave, live, seats, verify).
#[tokio::test]
async fn every_buyer_route_has_a_limit() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 5, 60.0, 120.0)).await;
    let limits = Limits {
        action_per_buyer: Limit::per_minute(2),
        live_per_buyer: Limit::per_minute(1),
        seats_per_ip: Limit::per_minute(2),
        verify_per_ip: Limit::per_minute(2),
        ..Limits::OFF
    };
    let g = gateway(&t.engine, Config { limits, ..crate::config() }).await;
    let base = g.url();
    let mut b = Browser::new();
    let a = b.join(&base, "s1:d1").await;
    let ticket = a.body["ticket"].as_str().unwrap().to_string();
    let holds = Browser::ticket_url(&base, "s1:d1", &ticket, "/holds");
    let release = Browser::ticket_url(&base, "s1:d1", &ticket, "/release");
    assert_eq!(b.post(&holds, json!({"seats": ["A1"]})).await.status, StatusCode::OK);
    assert_eq!(b.post(&release, json!({"seats": ["A1"]})).await.status, StatusCode::OK);
    for url in [&holds, &release, &Browser::ticket_url(&base, "s1:d1", &ticket, "/complete")] {
        let r = b.post(url, json!({"seats": ["A1"]})).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{url}: {:?}", r.body);
    }
    let r = b.call(Method::DELETE, &Browser::ticket_url(&base, "s1:d1", &ticket, ""), None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let live = Browser::ticket_url(&base, "s1:d1", &ticket, "/live");
    assert_eq!(b.get(&live).await.status, StatusCode::SERVICE_UNAVAILABLE, "no Ably here: counted, then 503");
    assert_eq!(b.get(&live).await.status, StatusCode::TOO_MANY_REQUESTS);
    let seats = format!("{base}/v1/queues/s1/d1/seats");
    assert_eq!(statuses(3, || async { Browser::new().get(&seats).await }).await, vec![200, 200, 429]);
    let verify = format!("{base}/v1/passes/verify");
    let pass = json!({"pass": a.body["pass"]});
    let verified = statuses(3, || async { Browser::new().post(&verify, pass.clone()).await }).await;
    assert_eq!(verified, vec![200, 200, 429]);
}

/// Findings 11 and 14: a stray cookie before the valid one does not hide it; an expired cookie is no
/// identity; CORS lets the venue's page read Retry-After; `*` as an origin is refused with a clear message.
#[tokio::test]
async fn cookies_are_read_robustly_and_expire_and_cors_exposes_retry_after() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let limits = Limits { status_per_buyer: Limit::per_minute(2), ..Limits::OFF };
    let config = Config { limits, cors_origins: vec!["https://tickets.example".into()], ..crate::config() };
    let g = gateway(&t.engine, config).await;
    let base = g.url();
    let mut b = Browser::new();
    let ticket = b.join(&base, "s1:d1").await.body["ticket"].as_str().unwrap().to_string();
    let valid = b.cookie.clone().unwrap();
    let url = Browser::ticket_url(&base, "s1:d1", &ticket, "");
    let mut stray = Browser { cookie: Some(format!("__Host-seatwise_buyer=x; other=1; {valid}")), ..Browser::new() };
    assert_eq!(stray.get(&url).await.status, StatusCode::OK, "the valid cookie after a stray one");
    // The same buyer's cookie issued three days ago (the Max-Age is two): no identity.
    let buyer = valid.split('=').nth(1).unwrap().split('.').next().unwrap();
    let ids = IdentityConfig {
        service_key: None,
        browser_direct: true,
        cookie_keys: crate::keys().derive("buyer-cookie"),
        cookie_secure: true,
    };
    let old = ids.cookie_value(&BuyerId::new(buyer).unwrap(), now_ms() / 1000 - 3 * 86_400);
    let mut expired = Browser { cookie: Some(format!("__Host-seatwise_buyer={old}")), ..Browser::new() };
    assert_eq!(expired.get(&url).await.status, StatusCode::FORBIDDEN);
    let fresh = ids.cookie_value(&BuyerId::new(buyer).unwrap(), now_ms() / 1000);
    assert_eq!(
        Browser { cookie: Some(format!("__Host-seatwise_buyer={fresh}")), ..Browser::new() }.get(&url).await.status,
        StatusCode::OK,
        "the same buyer, issued now (its second status call this minute)"
    );
    let r = reqwest::Client::new()
        .get(&url)
        .header("cookie", &valid)
        .header("origin", "https://tickets.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let exposed = r.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
    let e = Config { cors_origins: vec!["*".into()], ..crate::config() }.validate().unwrap_err();
    assert!(e.contains("name each origin"), "{e}");
    let e = Config { cors_origins: vec!["https://x.example/path".into()], ..crate::config() }.validate().unwrap_err();
    assert!(e.contains("scheme://host"), "{e}");
    // A gateway built in code is checked too (CORS would refuse `*` with credentials by panicking).
    let config = Config { cors_origins: vec!["*".into()], ..crate::config() };
    let e = Gateway::new(t.engine.clone(), None, config).await.err().expect("refused").to_string();
    assert!(e.contains("name each origin"), "{e}");
}

/// Finding 12: a draft, or an upcoming show whose sale opening is not announced, does not exist for buyers.
#[tokio::test]
async fn unannounced_shows_are_not_found() {
    let t = start().await;
    let mut s = show("s1", 1, 1, 60.0, 120.0);
    s.name = "Secret Premiere".into();
    t.engine.create_show(&s, &actor()).await.unwrap();
    let g = gateway(&t.engine, Config { public_cache: Duration::ZERO, ..crate::config() }).await;
    let base = g.url();
    for url in [format!("{base}/v1/shows/s1/queue"), format!("{base}/v1/queues/s1/d1/seats")] {
        let r = Browser::new().get(&url).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{url}: {:?}", r.body);
        assert!(!r.body.to_string().contains("Secret"), "{:?}", r.body);
    }
    let r = Browser::new().post(&format!("{base}/v1/queues/s1/d1/challenge"), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let actor = actor();
    let r = t.engine.update_show_status(&s.id, seatwise_engine::ShowStatus::Upcoming, &actor, None).await.unwrap();
    assert!(r.success, "{r:?}");
    let up = t.engine.get_show(&s.id).await.unwrap();
    assert_eq!(Browser::new().get(&format!("{base}/v1/shows/s1/queue")).await.status, StatusCode::NOT_FOUND);
    let mut announced = up.clone();
    announced.sale_opens_at = Some("2099-01-01T19:00:00Z".into());
    t.engine.update_show(&announced, up.version, &actor).await.unwrap();
    let r = Browser::new().get(&format!("{base}/v1/shows/s1/queue")).await;
    assert_eq!((r.status, r.body["name"].as_str()), (StatusCode::OK, Some("Secret Premiere")), "{:?}", r.body);
}

/// Finding 13: a queue's join batcher ends when idle; joins beyond what it can hold are refused at once.
#[tokio::test]
async fn the_join_batcher_ends_when_idle() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 2, 1, 60.0, 120.0)).await;
    let j = seatwise_gateway::joiner::Joiner::with_idle(Duration::from_millis(300));
    for (i, sc) in [scope("s1", "d1"), scope("s1", "d2")].iter().enumerate() {
        j.join(&t.engine, sc, BuyerId::new(&format!("b{i}")).unwrap()).await.unwrap();
    }
    assert_eq!(j.batchers(), 2);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(j.batchers(), 0, "idle batchers are gone");
    // And the next join starts one again.
    let s = j.join(&t.engine, &scope("s1", "d1"), BuyerId::new("b9").unwrap()).await.unwrap();
    assert_eq!(s.state, seatwise_engine::TicketState::Waiting);
    assert_eq!(j.batchers(), 1);
}

/// Finding 13, the rest: a join whose request was given up (timed out, client gone) while it waited for its
/// batch is not made.
#[tokio::test]
async fn a_join_given_up_before_its_batch_is_not_made() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let j = std::sync::Arc::new(seatwise_gateway::joiner::Joiner::default());
    // Redis holds writes for a moment: the first join's batch waits in Redis, the second join in the
    // batcher's queue, where its caller gives up.
    t.engine.redis().query::<String>(redis::cmd("CLIENT").arg("PAUSE").arg(1500).arg("WRITE")).await.unwrap();
    let first = {
        let (j, e, sc) = (j.clone(), t.engine.clone(), sc.clone());
        tokio::spawn(async move { j.join(&e, &sc, BuyerId::new("first").unwrap()).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let given_up =
        tokio::time::timeout(Duration::from_millis(100), j.join(&t.engine, &sc, BuyerId::new("gone").unwrap())).await;
    assert!(given_up.is_err(), "the second join waited behind the first");
    first.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(queue_stats(&t.engine, &sc).await.tickets_issued, 1, "the given-up join was made");
}

/// A join with proof of work is one challenge and one join: the two are counted apart, so proof of work
/// does not halve the joins an address may make; and the public routes (seats, pass check) read no
/// identity, so a server's unrelated Authorization header does not refuse them.
#[tokio::test]
async fn challenges_count_apart_from_joins_and_public_routes_read_no_identity() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    t.engine.perform(&actor(), &scope("s1", "d1"), &seatwise_engine::StaffAction::Challenge { bits: 4 }).await.unwrap();
    let limits = Limits { join_per_ip: Limit::per_minute(2), ..Limits::OFF };
    let config = Config { limits, public_cache: Duration::ZERO, ..crate::config() };
    let g = gateway(&t.engine, config).await;
    let base = g.url();
    let mut pass = serde_json::Value::Null;
    for i in 0..2 {
        let mut b = Browser::new();
        let c = b.post(&format!("{base}/v1/queues/s1/d1/challenge"), json!({})).await;
        assert_eq!(c.status, StatusCode::OK, "challenge {i}: {:?}", c.body);
        let text = c.body["challenge"].as_str().unwrap().to_string();
        let solution = seatwise_engine::gate::Challenge::solve(&text, 4).to_string();
        let j =
            b.post(&format!("{base}/v1/queues/s1/d1/tickets"), json!({"challenge": text, "solution": solution})).await;
        assert_eq!(j.status, StatusCode::OK, "join {i}: {:?}", j.body);
        if i == 0 {
            pass = j.body["pass"].clone();
        }
    }
    let mut server = Browser::new();
    server.headers = vec![("authorization".into(), "Bearer the venue's own api token".into())];
    let v = server.post(&format!("{base}/v1/passes/verify"), json!({ "pass": pass })).await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    assert_eq!(server.get(&format!("{base}/v1/queues/s1/d1/seats")).await.status, StatusCode::OK);
}
