//! TLS for real: redis-server on a TLS port with a CA, server and client certificates this test makes
//! (rcgen). The lifecycle over TLS with the venue's own CA, mutual TLS, and each failure a venue's IT team
//! meets, produced for real with its message checked.

use seatwise_engine::redis_conn::TlsOptions;
use seatwise_engine::{BuyerId, ConnectOptions, Engine, Error, Redis, SeatId, Target, Ticket, TicketState};

use crate::support::pki::pki;
use crate::support::*;

async fn connect(url: String, tls: TlsOptions) -> Result<Engine, Error> {
    let mut o = ConnectOptions::new(Target::Url(url));
    o.tls = tls;
    o.connect_timeout = std::time::Duration::from_secs(2);
    Ok(Engine::new(Redis::connect(&o).await?))
}

fn tls_detail(e: Error) -> String {
    match e {
        Error::Tls { detail, .. } => detail,
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_whole_lifecycle_runs_over_tls_with_the_venues_own_ca() {
    let p = pki();
    let s = p.server("server", false);
    let url = format!("rediss://localhost:{}", s.tls_port().unwrap());
    let e = connect(url.clone(), p.ca()).await.unwrap();
    open_show(&e, &show("tls", 1, 1, 60.0, 120.0)).await;
    let sc = scope("tls", "d1");
    let a = Ticket::parse(&e.join(&sc, &BuyerId::new("ann").unwrap()).await.unwrap().ticket).unwrap();
    let b = Ticket::parse(&e.join(&sc, &BuyerId::new("bob").unwrap()).await.unwrap().ticket).unwrap();
    e.hold(&sc, &a, &[SeatId::new("A1").unwrap()]).await.unwrap();
    e.complete(&sc, &a).await.unwrap();
    assert_eq!(e.status(&sc, &b).await.unwrap().state, TicketState::Admitted);
    assert_eq!(queue_stats(&e, &sc).await.completed_total, 1);

    // Without the CA (the system store does not know the venue's CA), or with another CA: refused, and
    // the message says what to give.
    for tls in [TlsOptions::default(), TlsOptions { ca_pem: Some(p.other_ca_pem.clone().into()), ..Default::default() }]
    {
        let d = tls_detail(connect(url.clone(), tls).await.map(|_| ()).unwrap_err());
        assert!(d.contains("does not trust") && d.contains("--tls-ca"), "{d}");
    }
}

#[tokio::test]
async fn a_certificate_for_another_name_or_out_of_its_dates_is_refused_clearly() {
    let p = pki();
    let s = p.server("server", false);
    // The certificate names localhost, not 127.0.0.1.
    let d = tls_detail(
        connect(format!("rediss://127.0.0.1:{}", s.tls_port().unwrap()), p.ca()).await.map(|_| ()).unwrap_err(),
    );
    assert!(d.contains("does not name the host 127.0.0.1"), "{d}");
    let old = p.server("expired", false);
    let d = tls_detail(
        connect(format!("rediss://localhost:{}", old.tls_port().unwrap()), p.ca()).await.map(|_| ()).unwrap_err(),
    );
    assert!(d.contains("validity dates"), "{d}");
}

#[tokio::test]
async fn mutual_tls_is_accepted_with_the_client_certificate_and_refused_without() {
    let p = pki();
    let s = p.server("server", true);
    let url = format!("rediss://localhost:{}", s.tls_port().unwrap());
    let e = connect(url.clone(), p.ca_and_client()).await.unwrap();
    let pong: String = e.redis().query(&redis::cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
    let err = connect(url.clone(), p.ca()).await.map(|_| ()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("client certificate") && text.contains("--tls-cert"), "{text}");
    // A key without its certificate is refused before connecting, without showing the key.
    let half = TlsOptions { client_key_pem: Some(p.client_key_pem.clone().into()), ..p.ca() };
    let text = connect(url, half).await.map(|_| ()).unwrap_err().to_string();
    assert!(text.contains("give both or neither"), "{text}");
    assert!(!text.contains("PRIVATE KEY") && !format!("{:?}", p.ca_and_client()).contains("PRIVATE KEY"));
}

#[tokio::test]
async fn plain_redis_to_a_tls_port_fails_clearly() {
    let p = pki();
    let s = p.server("server", false);
    let err = connect(format!("redis://localhost:{}", s.tls_port().unwrap()), TlsOptions::default())
        .await
        .map(|_| ())
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("rediss://"), "{text}");
}

/// A Redis Cluster over TLS (`--tls-cluster yes`), seeds given as rediss:// URLs with the venue's CA:
/// scripts and the monitoring pipeline reach every master over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_over_tls_runs_the_queues() {
    let p = pki();
    let d = p.dir.path();
    let tls = seatwise_engine::local::ServerTls {
        cert_file: d.join("node.crt"),
        key_file: d.join("node.key"),
        ca_file: d.join("ca.crt"),
        require_client_cert: false,
    };
    let cluster = seatwise_engine::local::RedisCluster::start_with(3, Some(tls)).unwrap();
    let mut o = ConnectOptions::new(Target::Cluster(cluster.tls_urls()));
    o.tls = p.ca();
    let e = Engine::new(Redis::connect(&o).await.unwrap());
    open_show(&e, &show("tlsc", 6, 1, 60.0, 120.0)).await;
    for i in 1..=6 {
        e.join(&scope("tlsc", &format!("d{i}")), &BuyerId::new("ann").unwrap()).await.unwrap();
    }
    let all = e.all_open_queue_status().await.unwrap();
    assert_eq!(all[0].queue_statuses.iter().map(|q| q.stats.active_sessions).sum::<u64>(), 6);
}

/// An Ably endpoint behind a venue's proxy with a private CA (the stand-in over HTTPS): trusted with the
/// CA given, refused without it with a message that says so.
#[tokio::test]
async fn an_ably_endpoint_with_a_private_ca_is_trusted_when_given_the_ca() {
    let p = pki();
    let read = |f: &str| std::fs::read_to_string(p.dir.path().join(f)).unwrap();
    let s = seatwise_ably_standin::StandIn::start_tls(
        seatwise_ably_standin::Config::default(),
        &read("server.crt"),
        &read("server.key"),
    )
    .await;
    assert!(s.url().starts_with("https://localhost:"));
    let options = |ca: Option<&str>| {
        let mut o = seatwise_engine::connect::AblyOptions::new(&s.key(), "seatwise-test");
        o.endpoint = Some(s.url());
        o.ca_pem = ca.map(|c| c.as_bytes().to_vec());
        o.build().unwrap()
    };
    let ably = options(Some(&p.ca_pem));
    assert!(ably.time().await.unwrap() > 0);
    let untrusted = options(None);
    let err = untrusted.time().await.unwrap_err().to_string();
    assert!(err.contains("UnknownIssuer") && err.contains("--ably-ca"), "{err}");
}
