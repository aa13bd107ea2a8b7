//! What only the REST transport has: its token, its HTTP requests, its errors.

use seatwise_engine::{ConnectOptions, Error, Redis, ShowId, Target};

use crate::support::*;

#[tokio::test]
async fn a_wrong_token_is_an_auth_error_without_the_token() {
    let t = start().await;
    let url = t.rest.as_ref().unwrap().url();
    let err =
        Redis::connect(&ConnectOptions::new(Target::Rest { url: url.clone(), token: "wrong-token-llama".into() }))
            .await
            .unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains("wrong-token-llama"));
    let target = Target::Rest { url, token: "secret-token-llama".into() };
    assert!(!format!("{target:?}").contains("secret-token-llama"));
}

#[tokio::test]
async fn an_unreachable_endpoint_and_a_bad_url_are_clear() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut o = ConnectOptions::new(Target::Rest { url: format!("http://127.0.0.1:{port}"), token: "t".into() });
    o.response_timeout = std::time::Duration::from_millis(500);
    let err = Redis::connect(&o).await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. } | Error::Timeout { .. }), "{err}");
    let err = Redis::connect(&ConnectOptions::new(Target::Rest { url: "redis://x".into(), token: "t".into() }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Upstash console"), "{err}");
}

#[tokio::test]
async fn monitoring_every_open_queue_takes_two_http_requests() {
    let t = start().await;
    let e = &t.engine;
    let rest = t.rest.as_ref().unwrap();
    open_show(e, &show("big", 60, 5, 60.0, 120.0)).await;
    open_show(e, &show("other", 40, 5, 60.0, 120.0)).await;
    e.all_open_queue_status().await.unwrap(); // loads the stats script
    let before = rest.requests();
    let all = e.all_open_queue_status().await.unwrap();
    assert_eq!(rest.requests() - before, 2, "one catalog read, one /pipeline");
    assert_eq!(all.iter().map(|s| s.queue_statuses.len()).sum::<usize>(), 100);
    let _ = ShowId::new("big").unwrap();
}

/// The stand-in itself follows Upstash's documented API: bearer auth, base64 answers ("OK" included),
/// `/multi-exec` atomic, no blocking commands.
#[tokio::test]
async fn the_rest_standin_follows_upstash() {
    use base64::Engine as _;
    let t = start().await;
    let url = t.rest.as_ref().unwrap().url();
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value, token: &str, b64: bool| {
        let mut r = http.post(format!("{url}{path}")).bearer_auth(token).json(&body);
        if b64 {
            r = r.header("Upstash-Encoding", "base64");
        }
        r.send()
    };
    let r = post("", serde_json::json!(["SET", "k", "v"]), "wrong", false).await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = post("/multi-exec", serde_json::json!([["SET", "k", "v"], ["GET", "k"]]), REST_TOKEN, true).await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    assert_eq!(body, serde_json::json!([{"result": b64("OK")}, {"result": b64("v")}]));
    let r = post("", serde_json::json!(["BLPOP", "q", "1"]), REST_TOKEN, false).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("not available"), "{e}");
    let r = post("/pipeline", serde_json::json!([["GET", "k"], ["NOPE"]]), REST_TOKEN, false).await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body[0], serde_json::json!({"result": "v"}));
    assert!(body[1]["error"].as_str().unwrap().starts_with("ERR"), "{body}");
}

/// A request whose answer is lost after it ran (a gateway's 502 page) is never sent again: `admit 5` admits
/// five, not fifteen, and the caller is told the outcome is unknown rather than given a second run's answer.
#[tokio::test]
async fn a_request_that_ran_is_never_sent_again() {
    let t = start().await;
    let e = &t.engine;
    let rest = t.rest.as_ref().unwrap();
    open_show(e, &show("s1", 1, 1, 600.0, 600.0)).await;
    let sc = scope("s1", "d1");
    for i in 0..30 {
        e.join(&sc, &seatwise_engine::BuyerId::new(&format!("b{i}")).unwrap()).await.unwrap();
    }
    assert_eq!(e.admit(&sc, 1).await.unwrap(), 1); // the admit script is now in the server's cache
    assert_eq!(queue_stats(e, &sc).await.active_sessions, 2);
    rest.lose_answers(1);
    let err = e.admit(&sc, 5).await.unwrap_err();
    assert!(err.to_string().contains("whether the request ran is unknown"), "{err}");
    assert_eq!(queue_stats(e, &sc).await.active_sessions, 7, "the admission ran exactly once");
}

/// Upstash's read-only token (the stand-in runs its commands as a Redis user limited to reads): a
/// watch-only connection sees the monitor and the audit log; a change is refused, clearly.
#[tokio::test]
async fn the_read_only_token_watches_and_every_change_is_refused() {
    use seatwise_engine::{ConnectOptions, Engine, ErrorCode, Redis, StaffAction, Target};
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 60.0, 120.0)).await;
    let sc = scope("s1", "d1");
    let mut acl = redis::cmd("ACL");
    acl.arg("SETUSER").arg("watcher").arg(">ro-pass-not-real").arg(seatwise_engine::redis_conn::WATCH_ONLY_ACL);
    let _: String = e.redis().query(&acl).await.unwrap();
    let rest = t.rest.as_ref().unwrap();
    rest.allow_read_only(
        "ro-token-not-real",
        &format!("redis://watcher:ro-pass-not-real@127.0.0.1:{}", t.server.port()),
    )
    .await;
    let mut opts = ConnectOptions::new(Target::Rest { url: rest.url(), token: "ro-token-not-real".into() });
    opts.watch_only = true;
    let w = Engine::new(Redis::connect(&opts).await.unwrap());
    let all = w.all_open_queue_status().await.unwrap();
    assert_eq!(all[0].queue_statuses[0].stats.state, seatwise_engine::QueueState::Open);
    assert!(!w.audit_log(5, None).await.unwrap().is_empty());
    let err = w.perform(&actor(), &sc, &StaffAction::Pause).await.map(|_| ()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ReadOnly, "{err}");
    assert!(!err.to_string().contains("ro-token"), "{err}");
    assert_eq!(queue_stats(e, &sc).await.state, seatwise_engine::QueueState::Open);
}
