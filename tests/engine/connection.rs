//! Connection errors are clear and never carry the password.

use std::time::Duration;

use seatwise_engine::local::{RedisServer, ServerOptions};
use seatwise_engine::{ConnectOptions, Error, Redis, Target};

fn opts(t: Target) -> ConnectOptions {
    let mut o = ConnectOptions::new(t);
    o.connect_timeout = Duration::from_millis(1500);
    o.response_timeout = Duration::from_millis(1500);
    o
}

#[tokio::test]
async fn unreachable_host_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = Redis::connect(&opts(Target::Url(format!("redis://127.0.0.1:{port}")))).await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. } | Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error_without_the_password() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let admin = Redis::connect(&opts(Target::Url(server.url()))).await.unwrap();
    admin.query::<String>(redis::cmd("CONFIG").arg("SET").arg("requirepass").arg("right-horse")).await.unwrap();
    let url = format!("redis://:wrong-battery@127.0.0.1:{}", server.port());
    let err = Redis::connect(&opts(Target::Url(url.clone()))).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("wrong-battery"), "{text}");
    let good = format!("redis://:right-horse@127.0.0.1:{}", server.port());
    let r = Redis::connect(&opts(Target::Url(good))).await.unwrap();
    assert!(!format!("{r:?}").contains("right-horse"));
}

#[tokio::test]
async fn tls_to_a_plain_server_fails_clearly() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let err = Redis::connect(&opts(Target::Url(format!("rediss://127.0.0.1:{}", server.port())))).await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. } | Error::Timeout { .. } | Error::Unreachable { .. }), "{err}");
    println!("TLS error as shown: {err}");
}

#[tokio::test]
async fn a_bad_url_says_what_is_allowed() {
    let err = Redis::connect(&opts(Target::Url("http://:pw@x".into()))).await.unwrap_err();
    assert!(err.to_string().contains("rediss://"), "{err}");
    assert!(!err.to_string().contains("pw"), "{err}");
}

#[tokio::test]
async fn a_cluster_target_on_a_plain_server_is_a_cluster_error() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let err = Redis::connect(&opts(Target::Cluster(vec![server.url()]))).await.unwrap_err();
    assert!(matches!(err, Error::Cluster(_)), "{err}");
    println!("cluster misconfiguration as shown: {err}");
}

/// A watch-only connection (a Redis ACL user limited to reads) sees the monitor, the shows and the audit
/// log; every change is refused by Redis itself (NOPERM) and reported as a read-only connection, without
/// anything half-applied.
#[tokio::test]
async fn a_watch_only_user_can_watch_and_redis_refuses_every_change() {
    use seatwise_engine::{ErrorCode, ShowId, ShowStatus, StaffAction};
    let t = crate::support::start().await;
    let e = &t.engine;
    crate::support::open_show(e, &crate::support::show("s1", 2, 1, 60.0, 120.0)).await;
    let sc = crate::support::scope("s1", "d1");
    e.join(&sc, &seatwise_engine::BuyerId::new("ann").unwrap()).await.unwrap();
    let mut acl = redis::cmd("ACL");
    acl.arg("SETUSER").arg("watcher").arg(">watch-pw-not-real").arg(seatwise_engine::redis_conn::WATCH_ONLY_ACL);
    let _: String = e.redis().query(&acl).await.unwrap();
    let url = format!("redis://watcher:watch-pw-not-real@127.0.0.1:{}", t.server.port());
    let mut opts = ConnectOptions::new(Target::Url(url));
    opts.watch_only = true;
    let w = seatwise_engine::Engine::new(Redis::connect(&opts).await.unwrap());
    // Watching works, the scripts load themselves (EVAL_RO) even on a fresh script cache.
    let _: String = e.redis().query(redis::cmd("SCRIPT").arg("FLUSH")).await.unwrap();
    let all = w.all_open_queue_status().await.unwrap();
    assert_eq!(all[0].queue_statuses[0].stats.active_sessions, 1);
    assert_eq!(all[0].queue_statuses.len(), 2);
    assert_eq!(w.list_shows().await.unwrap().len(), 1);
    assert!(!w.audit_log(10, None).await.unwrap().is_empty());
    // Every change is refused by Redis, clearly, and nothing changed.
    let who = crate::support::actor();
    let refusals = [
        w.perform(&who, &sc, &StaffAction::Pause).await.map(|_| ()).unwrap_err(),
        w.update_show_status(&ShowId::new("s1").unwrap(), ShowStatus::Closed, &who, None)
            .await
            .map(|_| ())
            .unwrap_err(),
        w.join(&sc, &seatwise_engine::BuyerId::new("bob").unwrap()).await.map(|_| ()).unwrap_err(),
    ];
    for err in refusals {
        assert_eq!(err.code(), ErrorCode::ReadOnly, "{err}");
        assert!(err.to_string().contains("may only watch") && !err.to_string().contains("watch-pw"), "{err}");
    }
    let st = crate::support::queue_stats(e, &sc).await;
    assert_eq!((st.state, st.queue_size, st.active_sessions), (seatwise_engine::QueueState::Open, 0, 1));
    assert_eq!(e.get_show(&ShowId::new("s1").unwrap()).await.unwrap().status, ShowStatus::Open);
}
