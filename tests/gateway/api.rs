//! Every endpoint, as a buyer's browser and as the venue's web app use it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use seatwise_engine::gate::KeyRing;
use serde_json::json;
use sha2::Sha256;

use crate::support::*;
use crate::*;

const PASS_KEY: &str = "the venue's pass key, 32+ characters long";

/// The admission pass checked the way a booking site would, with nothing of the gateway's code.
fn verify_pass_independently(pass: &str, key: &str) -> serde_json::Value {
    let (body, sig) = pass.split_once('.').expect("two parts");
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    mac.verify_slice(&B64.decode(sig).unwrap()).expect("the signature is HMAC-SHA256 of the first part");
    serde_json::from_slice(&B64.decode(body).unwrap()).unwrap()
}

/// The whole buyer path through one engine (single node, Cluster or REST): public status, join, rejoin,
/// wait, admission with a pass, hold, release, complete, the next buyer admitted, leave.
pub async fn buyer_lifecycle(engine: &seatwise_engine::Engine) {
    open_show(engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let config = Config { pass_keys: Some(KeyRing::from_text("pass key", PASS_KEY, "").unwrap()), ..crate::config() };
    let g = gateway(engine, config).await;
    let base = g.url();
    let mut alice = Browser::new();
    let mut bob = Browser::new();

    let q = alice.get(&format!("{base}/v1/shows/s1/queue")).await;
    assert_eq!(q.status, StatusCode::OK, "{:?}", q.body);
    assert_eq!(q.body["schedules"][0]["state"], "open");
    assert!(q.body["schedules"][0].get("admittedTotal").is_none(), "no internals: {:?}", q.body);

    let a = alice.join(&base, "s1:d1").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let cookie = a.headers["set-cookie"].to_str().unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert_eq!(a.body["state"], "admitted");
    let a_ticket = a.body["ticket"].as_str().unwrap().to_string();
    // The pass: signed with the venue's key, for this ticket, until the session ends.
    let pass = verify_pass_independently(a.body["pass"].as_str().unwrap(), PASS_KEY);
    assert_eq!((pass["scope"].as_str(), pass["ticket"].as_str()), (Some("s1:d1"), Some(a_ticket.as_str())));
    assert_eq!(pass["exp"], a.body["expiresAtMs"]);
    let v = alice.post(&format!("{base}/v1/passes/verify"), json!({"pass": a.body["pass"]})).await;
    assert_eq!((v.status, v.body["valid"].as_bool()), (StatusCode::OK, Some(true)), "{:?}", v.body);

    // Joining again with the same browser gives the same ticket back.
    let again = alice.join(&base, "s1:d1").await;
    assert_eq!(again.body["ticket"], a_ticket.as_str());
    assert!(again.headers.get("set-cookie").is_none(), "the identity is kept");

    let b = bob.join(&base, "s1:d1").await;
    assert_eq!((b.body["state"].as_str(), b.body["rank"].as_u64()), (Some("waiting"), Some(1)), "{:?}", b.body);
    assert_eq!(b.body["pollAfterMs"], 2000);
    assert!(b.body.get("pass").is_none());
    let b_ticket = b.body["ticket"].as_str().unwrap().to_string();

    let holds = Browser::ticket_url(&base, "s1:d1", &a_ticket, "/holds");
    let h = alice.post(&holds, json!({"seats": ["A1", "A2"]})).await;
    assert_eq!((h.status, h.body["seats"].clone()), (StatusCode::OK, json!(["A1", "A2"])), "{:?}", h.body);
    let r = alice.post(&Browser::ticket_url(&base, "s1:d1", &a_ticket, "/release"), json!({"seats": ["A2"]})).await;
    assert_eq!(r.body["seats"], json!(["A1"]), "{:?}", r.body);
    let c = alice.post(&Browser::ticket_url(&base, "s1:d1", &a_ticket, "/complete"), json!({})).await;
    assert_eq!((c.status, c.body["seats"].clone()), (StatusCode::OK, json!(["A1"])), "{:?}", c.body);
    let s = alice.get(&Browser::ticket_url(&base, "s1:d1", &a_ticket, "")).await;
    assert_eq!((s.body["state"].as_str(), s.body["pollAfterMs"].as_u64()), (Some("completed"), Some(0)));

    // Completing freed the session: bob's next poll finds him admitted.
    let s = bob.get(&Browser::ticket_url(&base, "s1:d1", &b_ticket, "")).await;
    assert_eq!(s.body["state"], "admitted", "{:?}", s.body);
    assert!(s.body["pass"].is_string());
    let l = bob.call(Method::DELETE, &Browser::ticket_url(&base, "s1:d1", &b_ticket, ""), None).await;
    assert_eq!((l.status, l.body["was"].as_str()), (StatusCode::OK, Some("admitted")), "{:?}", l.body);
    g.stop().await;
}

#[tokio::test]
async fn a_buyer_goes_from_join_to_booking_through_the_gateway() {
    let t = start().await;
    buyer_lifecycle(&t.engine).await;
}

#[tokio::test]
async fn nobody_can_use_a_ticket_that_is_not_theirs() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let g = gateway(&t.engine, config()).await;
    let base = g.url();
    let (mut alice, mut mallory) = (Browser::new(), Browser::new());
    let a = alice.join(&base, "s1:d1").await.body["ticket"].as_str().unwrap().to_string();
    mallory.join(&base, "s1:d1").await;
    let url = |rest: &str| Browser::ticket_url(&base, "s1:d1", &a, rest);
    for (method, rest, body) in [
        (Method::GET, "", None),
        (Method::DELETE, "", None),
        (Method::POST, "/holds", Some(json!({"seats": ["A1"]}))),
        (Method::POST, "/release", Some(json!({}))),
        (Method::POST, "/complete", Some(json!({}))),
    ] {
        let r = mallory.call(method.clone(), &url(rest), body).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "not_owner"), "{method} {rest}: {:?}", r.body);
    }
    // A forged cookie is no identity: the gateway gives a new one, which owns nothing.
    let mut forger = Browser::new();
    forger.cookie = Some(alice.cookie.clone().unwrap().replace("web:", "web:0"));
    let r = forger.get(&url("")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    // Claiming alice's buyer id with a re-signed cookie is impossible without the key; the service key is
    // the only other way to name a buyer, and a wrong one is refused.
    let mut liar = Browser::service("not the key", "alice");
    assert_eq!(liar.get(&url("")).await.status, StatusCode::UNAUTHORIZED);
    // A forged ticket (right shape, wrong tag) is unknown; a malformed one is bad input.
    let forged = format!("{}0000000000000000", &a[..a.len() - 16]);
    let r = alice.get(&Browser::ticket_url(&base, "s1:d1", &forged, "")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "unknown_ticket"), "{:?}", r.body);
    let r = alice.get(&Browser::ticket_url(&base, "s1:d1", "1.x", "")).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid"), "{:?}", r.body);
    // Alice's ticket is untouched by all of it.
    assert_eq!(alice.get(&url("")).await.body["state"], "admitted");
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_with_a_fitting_status() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 2, 1, 60.0, 120.0)).await;
    let g = gateway(&t.engine, config()).await;
    let base = g.url();
    let mut b = Browser::new();
    let tickets = format!("{base}/v1/queues/s1/d1/tickets");
    let raw = |body: &'static str| {
        let url = tickets.clone();
        async move {
            let r = reqwest::Client::new().post(url).header("content-type", "application/json").body(body).send().await;
            let r = r.unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, body) = raw("{not json").await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("not the JSON expected"), "{body}");
    let (s, body) = raw(r#"{"surprise": 1}"#).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let huge = format!(r#"{{"challenge": "{}"}}"#, "x".repeat(100_000));
    let r = reqwest::Client::new()
        .post(&tickets)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "too_large");
    let r = reqwest::Client::new().get(format!("{base}/healthz")).header("x-big", "y".repeat(10_000)).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let r = b.get(&format!("{base}/v1/nothing-here")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = b.get(&format!("{base}/v1/shows/nope/queue")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = b.join(&base, "s1:zz").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = b.join(&base, "s1:bad}id").await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "invalid"), "{:?}", r.body);
    let r = b.post(&format!("{base}/v1/passes/verify"), json!({"pass": "abc.def"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "invalid_pass"), "{:?}", r.body);
    let r = b.join(&base, "s1:d1").await;
    let hold = Browser::ticket_url(&base, "s1:d1", r.body["ticket"].as_str().unwrap(), "/holds");
    let r = b.post(&hold, json!({"seats": ["A 1"]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let r = b.post(&hold, json!({"seats": ["A1", "A2", "A3", "A4", "A5"]})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "too_many_seats"), "{:?}", r.body);

    // A closed queue answers 410 to a join and `closed` to a ticket's status.
    t.engine
        .update_show_status(
            &seatwise_engine::ShowId::new("s1").unwrap(),
            seatwise_engine::ShowStatus::Closed,
            &actor(),
            None,
        )
        .await
        .unwrap();
    let r = Browser::new().join(&base, "s1:d1").await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "closed"), "{:?}", r.body);

    // Redis gone: 503 with Retry-After and nothing internal in the message; readyz says so too.
    assert_eq!(reqwest::get(format!("{base}/readyz")).await.unwrap().status(), StatusCode::OK);
    let _ = t.engine.redis().query::<()>(redis::cmd("SHUTDOWN").arg("NOSAVE")).await;
    let r = Browser::new().join(&base, "s1:d2").await;
    assert_eq!((r.status, r.code()), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"), "{:?}", r.body);
    assert!(r.headers.contains_key("retry-after"));
    let msg = r.body["message"].as_str().unwrap();
    assert!(!msg.contains("127.0.0.1") && !msg.to_lowercase().contains("redis"), "{msg}");
    assert_eq!(reqwest::get(format!("{base}/readyz")).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn the_venue_web_app_calls_with_its_service_key_for_the_buyers_it_vouches_for() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let key = "service key of the venue, 32+ chars";
    let config = Config { service_key: Some(key.into()), browser_direct: false, ..crate::config() };
    let g = gateway(&t.engine, config).await;
    let base = g.url();
    let mut app_for_alice = Browser::service(key, "alice@example.com");
    let a = app_for_alice.join(&base, "s1:d1").await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.headers.get("set-cookie").is_none(), "no cookie in server-to-server mode");
    let ticket = a.body["ticket"].as_str().unwrap().to_string();
    // The same buyer from another app server gets the same ticket; another buyer cannot use it.
    assert_eq!(Browser::service(key, "alice@example.com").join(&base, "s1:d1").await.body["ticket"], ticket.as_str());
    let r = Browser::service(key, "bob@example.com").get(&Browser::ticket_url(&base, "s1:d1", &ticket, "")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut no_buyer = Browser::service(key, "x");
    no_buyer.headers.pop();
    assert_eq!(no_buyer.join(&base, "s1:d1").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(Browser::service(key, "not an id").join(&base, "s1:d1").await.status, StatusCode::BAD_REQUEST);
    // Browser-direct is off: a browser without the key is refused.
    let r = Browser::new().join(&base, "s1:d1").await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{:?}", r.body);
}

#[tokio::test]
async fn health_metrics_openapi_and_cors() {
    let t = start().await;
    open_show(&t.engine, &show("s1", 1, 1, 60.0, 120.0)).await;
    let config = Config { cors_origins: vec!["https://tickets.example".into()], ..crate::config() };
    let g = gateway(&t.engine, config).await;
    let base = g.url();
    Browser::new().join(&base, "s1:d1").await;
    // Metrics are for the operators' listener only: the buyers' port does not serve them.
    let public = Browser::new().get(&format!("{base}/metrics")).await;
    assert_eq!((public.status, public.code()), (StatusCode::NOT_FOUND, "not_found"), "{:?}", public.body);
    let m = scrape_metrics(&t.engine).await;
    assert!(m.contains("seatwise_gateway_requests_total"), "{m}");
    assert!(m.contains(r#"route="/v1/queues/{show}/{sched}/tickets""#), "{m}");
    assert!(m.contains("seatwise_gateway_request_seconds_bucket"), "{m}");
    assert!(m.contains("seatwise_gateway_joins_total"), "{m}");

    // CORS: the venue's origin may call with credentials; another origin gets no CORS grant.
    let client = reqwest::Client::new();
    let pre = |origin: &'static str| {
        client
            .request(Method::OPTIONS, format!("{base}/v1/queues/s1/d1/tickets"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = pre("https://tickets.example").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://tickets.example");
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let other = pre("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The OpenAPI document and the real routes agree: every documented operation is routed (not the
    // fallback), and every route the gateway lists is documented.
    let doc: serde_json::Value = reqwest::get(format!("{base}/v1/openapi.json")).await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, _) in ops.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            let url = format!(
                "{base}{}",
                path.replace("{show}", "s1").replace("{sched}", "d1").replace("{ticket}", "1.1.0123456789abcdef")
            );
            let r = client
                .request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &url)
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            assert!(
                !body["message"].as_str().unwrap_or("").contains("no such route"),
                "{method} {path} is documented but not routed"
            );
        }
    }
    let routed: std::collections::BTreeSet<(String, String)> =
        seatwise_gateway::routes::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, routed, "openapi.json and routes::ROUTES differ");
}

#[tokio::test]
async fn a_waiting_buyer_is_told_when_the_seats_are_very_likely_gone() {
    let t = start().await;
    let mut s = show("s1", 1, 5, 60.0, 120.0);
    s.schedules[0].seat_map =
        Some(seatwise_engine::SeatMap { rows: vec!["A".into()], seats_per_row: 2, zones: Vec::new() });
    open_show(&t.engine, &s).await;
    let config = Config { public_cache: std::time::Duration::ZERO, ..crate::config() };
    let g = gateway(&t.engine, config).await;
    let base = g.url();
    let mut a = Browser::new();
    let ticket = a.join(&base, "s1:d1").await.body["ticket"].as_str().unwrap().to_string();
    let s = a.get(&Browser::ticket_url(&base, "s1:d1", &ticket, "")).await; // housekeeping admits a
    assert_eq!(s.body["state"], "admitted", "{:?}", s.body);
    let h = a.post(&Browser::ticket_url(&base, "s1:d1", &ticket, "/holds"), json!({"seats": ["A1", "A2"]})).await;
    assert_eq!(h.status, StatusCode::OK, "{:?}", h.body);
    let b = Browser::new().join(&base, "s1:d1").await;
    assert_eq!(
        (b.body["state"].as_str(), b.body["likelySoldOut"].as_bool()),
        (Some("waiting"), Some(true)),
        "{:?}",
        b.body
    );
    let q = a.get(&format!("{base}/v1/shows/s1/queue")).await;
    assert_eq!(q.body["schedules"][0]["state"], "open");
}

#[tokio::test]
async fn a_pre_queue_through_the_gateway_publishes_its_commitment_then_its_seed() {
    let t = start().await;
    let mut s = show("s1", 1, 1, 60.0, 120.0);
    // Announced: upcoming with its sale opening published (a draft is not public).
    s.status = seatwise_engine::ShowStatus::Upcoming;
    s.sale_opens_at = Some("2099-01-01T19:00:00Z".into());
    t.engine.create_show(&s, &actor()).await.unwrap();
    let sc = scope("s1", "d1");
    t.engine.open_prequeue(&sc, &s.schedules[0].settings(), None).await.unwrap();
    let config = Config { public_cache: std::time::Duration::ZERO, ..crate::config() };
    let g = gateway(&t.engine, config).await;
    let base = g.url();
    let mut b = Browser::new();
    let j = b.join(&base, "s1:d1").await;
    assert_eq!((j.body["state"].as_str(), j.body["prequeue"].as_bool()), (Some("waiting"), Some(true)), "{:?}", j.body);
    let q = b.get(&format!("{base}/v1/shows/s1/queue")).await.body;
    let commit = q["schedules"][0]["drawCommit"].as_str().unwrap().to_string();
    assert_eq!((q["schedules"][0]["state"].as_str(), commit.len()), (Some("prequeue"), 64), "{q}");
    assert!(q["schedules"][0].get("drawSeed").is_none(), "no seed before the opening: {q}");
    t.engine.open_queue(&sc, &s.schedules[0].settings()).await.unwrap();
    let q = b.get(&format!("{base}/v1/shows/s1/queue")).await.body;
    let seed = q["schedules"][0]["drawSeed"].as_str().unwrap();
    assert_eq!(seatwise_engine::draw::commitment(seed), commit, "{q}");
    let st = b.get(&Browser::ticket_url(&base, "s1:d1", j.body["ticket"].as_str().unwrap(), "")).await.body;
    assert_eq!((st["state"].as_str(), st["prequeue"].as_bool()), (Some("admitted"), Some(false)), "{st}");
}
