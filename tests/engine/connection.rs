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
