//! The venue's door in front of a booking site, through real nginx (`auth_request`) and real Caddy
//! (`forward_auth`), both started by the test on free ports (Debian's packages, installed by
//! scripts/setup.sh), with a small origin "booking site" behind them.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use seatwise_engine::gate::{KeyRing, Pass};
use seatwise_engine::{ConnectOptions, Engine, Redis, Target};
use seatwise_gateway::door::DoorConfig;

use crate::process::{Proc, free_port};
use crate::support::*;
use crate::*;

const SERVICE_KEY: &str = "the venue's service key, 32 or more characters";

async fn wait_for_port(port: u16, what: &str) {
    let t = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(t.elapsed() < Duration::from_secs(15), "{what} did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The venue's booking site: answers every path with its name.
async fn origin() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move { format!("booking site: {uri}") });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

fn nginx(dir: &Path, port: u16, gw: u16, origin: u16) -> Proc {
    let conf = format!(
        r#"daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
events {{}}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location = /_seatwise {{
      internal;
      proxy_pass http://127.0.0.1:{gw}/v1/door;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Seatwise-Door nginx;
    }}
    location / {{
      auth_request /_seatwise;
      auth_request_set $seatwise_location $upstream_http_x_seatwise_location;
      auth_request_set $seatwise_cookie $upstream_http_x_seatwise_set_cookie;
      error_page 401 = @seatwise;
      proxy_pass http://127.0.0.1:{origin};
    }}
    location @seatwise {{
      add_header Set-Cookie $seatwise_cookie always;
      return 302 $seatwise_location;
    }}
  }}
}}
"#,
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx is installed by scripts/setup.sh");
    Proc(child)
}

fn caddy(dir: &Path, port: u16, gw: u16, origin: u16) -> Proc {
    let conf = format!(
        "{{\n  admin off\n  auto_https off\n  storage file_system {d}/storage\n}}\nhttp://127.0.0.1:{port} {{\n  bind 127.0.0.1\n  forward_auth 127.0.0.1:{gw} {{\n    uri /v1/door\n  }}\n  reverse_proxy 127.0.0.1:{origin}\n}}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("Caddyfile"), conf).unwrap();
    let child = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"))
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("caddy is installed by scripts/setup.sh");
    Proc(child)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn get(url: &str, cookie: Option<&str>) -> (StatusCode, String, String, String) {
    let mut r = client().get(url);
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    let res = r.send().await.unwrap();
    let h = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (status, loc, set) = (res.status(), h("location"), h("set-cookie"));
    (status, loc, set, res.text().await.unwrap_or_default())
}

/// The whole path through one proxy: free paths pass, a buyer without a pass goes to the waiting room, an
/// admitted buyer reaches the site, a pass for another show, a forged, an expired or a released pass does
/// not; releasing lets the next buyer in at once.
async fn walk(e: &Engine, gw: &str, site: &str, pass_keys: &KeyRing, name: &str) {
    let sc = scope("s1", "d1");
    assert_eq!(get(&format!("{site}/"), None).await.0, StatusCode::OK, "{name}: the home page is allowed");
    let (s, _, _, body) = get(&format!("{site}/book/d1/app.css"), None).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "booking site: /book/d1/app.css"), "{name}: assets pass");
    let (s, loc, _, _) = get(&format!("{site}/book/d1?seat=A1"), None).await;
    assert_eq!(s, StatusCode::FOUND, "{name}: no pass");
    let back = format!("{site}/book/d1?seat=A1");
    let expected = format!("{gw}/q/s1/d1?return={}", percent_encode(&back));
    assert_eq!(loc, expected, "{name}: sent to the waiting room, with the way back");

    // A buyer joins in the waiting room and is admitted; its "continue" link passes the pass to the site.
    let mut b = Browser::new();
    let j = b.post(&format!("{gw}/v1/queues/s1/d1/tickets"), json!({})).await;
    assert_eq!(j.body["state"], "admitted", "{name}: {:?}", j.body);
    let ticket = j.body["ticket"].as_str().unwrap().to_string();
    // (A browser that does not follow the redirect, to read it.)
    let mut b = Browser { client: client(), cookie: b.cookie.clone(), headers: Vec::new() };
    let cont = b.get(&format!("{gw}/v1/queues/s1/d1/tickets/{ticket}/enter?return={}", percent_encode(&back))).await;
    assert_eq!(cont.status, StatusCode::FOUND);
    let to = cont.headers["location"].to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("{back}&seatwise_pass=")), "{name}: {to}");
    let (s, loc, set, _) = get(&to, None).await;
    assert_eq!((s, loc.as_str()), (StatusCode::FOUND, back.as_str()), "{name}: the pass leaves the URL");
    assert!(set.starts_with("seatwise_pass=") && set.contains("HttpOnly"), "{name}: {set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let (s, _, _, body) = get(&format!("{site}/book/d1?seat=A1"), Some(&cookie)).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "booking site: /book/d1?seat=A1"), "{name}: admitted, in");

    // The same pass is not for another performance; a forged and an expired one are refused.
    let (s, loc, _, _) = get(&format!("{site}/book/d2"), Some(&cookie)).await;
    assert!(s == StatusCode::FOUND && loc.contains("/q/s1/d2?"), "{name}: other show: {s} {loc}");
    let pass = cookie.trim_start_matches("seatwise_pass=").to_string();
    let forged = format!("seatwise_pass={}", forge(&percent_decode(&pass)));
    assert_eq!(get(&format!("{site}/book/d1"), Some(&forged)).await.0, StatusCode::FOUND, "{name}: forged");
    let expired =
        Pass { scope: sc.to_string(), ticket: ticket.clone(), exp: 1_000, kid: String::new() }.sign(pass_keys);
    let expired = format!("seatwise_pass={}", percent_encode(&expired));
    assert_eq!(get(&format!("{site}/book/d1"), Some(&expired)).await.0, StatusCode::FOUND, "{name}: expired");

    // Early release: the site says the buyer is done; the next buyer is let in at once and the pass
    // opens nothing any more.
    let next =
        e.join_with_proof(&sc, &buyer_id(&format!("next-{name}")), seatwise_engine::JoinProof::Trusted).await.unwrap();
    assert_eq!(next.state, seatwise_engine::TicketState::Waiting);
    let t0 = Instant::now();
    let r = client()
        .post(format!("{gw}/v1/passes/release"))
        .header("authorization", format!("Bearer {SERVICE_KEY}"))
        .json(&json!({"pass": percent_decode(&pass)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{name}: {}", r.text().await.unwrap());
    let t = seatwise_engine::Ticket::parse(&next.ticket).unwrap();
    while e.status(&sc, &t).await.unwrap().state != seatwise_engine::TicketState::Admitted {
        assert!(t0.elapsed() < Duration::from_secs(1), "{name}: the next buyer was not let in within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(get(&format!("{site}/book/d1"), Some(&cookie)).await.0, StatusCode::FOUND, "{name}: released");
    // The next buyer's session ends too, for the next proxy's walk.
    e.leave(&sc, &t).await.unwrap();
}

fn buyer_id(s: &str) -> seatwise_engine::BuyerId {
    seatwise_engine::BuyerId::new(s).unwrap()
}

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_and_caddy_let_in_only_admitted_buyers() {
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 2, 1, 600.0, 600.0)).await;
    let origin = origin().await;
    let (nginx_port, caddy_port) = (free_port(), free_port());
    let gw_port = free_port();
    let door = |site_port: u16| -> Arc<DoorConfig> {
        Arc::new(
            DoorConfig::parse(&format!(
                r#"{{"protect": [{{"path": "/book/d1", "queue": "s1:d1"}}, {{"path": "/book/d2", "queue": "s1:d2"}}],
                    "allow": ["/"], "waitingRoom": "http://127.0.0.1:{gw_port}", "site": "http://127.0.0.1:{site_port}",
                    "whenUnavailable": "closed", "secureCookie": false}}"#
            ))
            .unwrap(),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, site_port) in [("nginx", nginx_port), ("caddy", caddy_port)] {
        let cfg = Config {
            service_key: Some(SERVICE_KEY.into()),
            cookie_secure: false,
            door: Some(door(site_port)),
            ..config()
        };
        let gw = Arc::new(Gateway::new(e.clone(), None, cfg).await.unwrap());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", gw_port)).await.unwrap();
        let running = seatwise_gateway::Running::start(listener, gw).await.unwrap();
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let _proxy = if name == "nginx" {
            nginx(&sub, site_port, gw_port, origin)
        } else {
            caddy(&sub, site_port, gw_port, origin)
        };
        wait_for_port(site_port, name).await;
        walk(e, &running.url(), &format!("http://127.0.0.1:{site_port}"), &keys().derive("admission-pass"), name).await;
        running.stop().await;
    }
}

/// While Redis cannot say whether a pass is live, the door does what the venue chose: `closed` sends even
/// a pass holder to the waiting room; `open` lets a validly signed, unexpired pass through; a forged pass
/// never passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_the_door_does_what_the_venue_chose() {
    use seatwise_engine::local::{RedisServer, ServerOptions};
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let e = Engine::new(Redis::connect(&ConnectOptions::new(Target::Url(server.url()))).await.unwrap());
    open_show(&e, &show("s1", 1, 1, 600.0, 600.0)).await;
    let t = e.join(&scope("s1", "d1"), &buyer_id("a")).await.unwrap();
    let pass = Pass { scope: "s1:d1".into(), ticket: t.ticket, exp: t.expires_at_ms.unwrap(), kid: String::new() }
        .sign(&keys().derive("admission-pass"));
    let mut doors = Vec::new();
    for rule in ["open", "closed"] {
        let cfg = DoorConfig::parse(&format!(
            r#"{{"protect": [{{"path": "/book", "queue": "s1:d1"}}], "waitingRoom": "http://q.example",
                "site": "http://t.example", "whenUnavailable": "{rule}"}}"#
        ))
        .unwrap();
        doors.push(gateway(&e, Config { door: Some(Arc::new(cfg)), ..config() }).await);
    }
    server.kill();
    let ask = |gw: String, pass: String| async move {
        client()
            .get(format!("{gw}/v1/door"))
            .header("x-forwarded-uri", "/book/seats")
            .header("cookie", format!("seatwise_pass={pass}"))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ask(doors[0].url(), pass.clone()).await, StatusCode::OK, "open: the signature suffices");
    assert_eq!(ask(doors[1].url(), pass.clone()).await, StatusCode::FOUND, "closed: to the waiting room");
    let forged = forge(&pass);
    assert_eq!(ask(doors[0].url(), forged).await, StatusCode::FOUND, "a forged pass never passes");
}
