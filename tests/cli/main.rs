//! The `seatwise` binary: messages and exit codes, against a real redis-server.

use std::process::{Command, Output};

use seatwise_engine::local::{RedisServer, ServerOptions};

#[path = "../support/pki.rs"]
mod pki;

fn seatwise(url: Option<&str>, args: &[&str]) -> Output {
    seatwise_env(url, &[], args)
}

fn seatwise_env(url: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_seatwise"));
    c.args(args);
    for v in [
        "SEATWISE_REDIS_URL",
        "SEATWISE_REDIS_CLUSTER",
        "SEATWISE_ABLY_KEY",
        "SEATWISE_ABLY_ENDPOINT",
        "SEATWISE_UPSTASH_URL",
        "SEATWISE_UPSTASH_TOKEN",
        "SEATWISE_TLS_CA",
        "SEATWISE_TLS_CERT",
        "SEATWISE_TLS_KEY",
        "SEATWISE_WATCH_ONLY",
    ] {
        c.env_remove(v);
    }
    if let Some(u) = url {
        c.env("SEATWISE_REDIS_URL", u);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run seatwise")
}

/// A shows file with one show `s1` (schedule `d1`, capacity 1) in `dir`.
fn hamlet_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let file = dir.path().join("shows.json");
    std::fs::write(
        &file,
        r#"{"shows":[{"id":"s1","name":"Hamlet","venue":"Globe","schedules":[
            {"id":"d1","startsAt":"2026-03-15T19:30","timeZone":"Europe/London","capacity":1}]}]}"#,
    )
    .unwrap();
    file
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn without_redis_it_says_how_to_configure_one() {
    let o = seatwise(None, &["shows", "list"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("SEATWISE_REDIS_URL") && text(&o).contains("seatwise demo"), "{}", text(&o));
}

#[test]
fn an_unreachable_redis_exits_5() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    let o = seatwise(Some(&url), &["shows", "list", "--connect-timeout-ms", "800"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(!text(&o).contains("hunter2"), "{}", text(&o));
}

#[test]
fn the_whole_flow_from_the_command_line() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = hamlet_file(&dir);
    let run = |args: &[&str]| seatwise(Some(&url), args);
    let o = run(&["shows", "import", file.to_str().unwrap()]);
    assert!(o.status.success() && text(&o).contains("created"), "{}", text(&o));
    let o = run(&["status", "s1", "CLOSED"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("allowed statuses are UPCOMING, OPEN, CANCELLED"), "{}", text(&o));
    let o = run(&["status", "s1", "open"]);
    assert!(o.status.success() && text(&o).contains("s1:d1") && text(&o).contains("queue opened"), "{}", text(&o));
    let o = run(&["--json", "buyer", "join", "s1:d1", "alice"]);
    let a: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(a["state"], "admitted");
    let o = run(&["--json", "buyer", "join", "s1:d1", "bob"]);
    let b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((b["state"].as_str(), b["rank"].as_u64()), (Some("waiting"), Some(1)));
    let at = a["ticket"].as_str().unwrap();
    assert!(run(&["buyer", "hold", "s1:d1", at, "A1", "A2"]).status.success());
    let o = run(&["buyer", "complete", "s1:d1", at]);
    assert!(text(&o).contains("booked A1 A2"), "{}", text(&o));
    let o = run(&["buyer", "hold", "s1:d1", b["ticket"].as_str().unwrap(), "A2"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("seats already held or sold: A2"), "{}", text(&o));
    let o = run(&["--json", "stats", "s1"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s[0]["queueStatuses"][0]["activeSessions"], 1);
    assert_eq!(s[0]["queueStatuses"][0]["admittedTotal"], 2);
    let o = run(&["queue", "pause", "s1:d1"]);
    assert!(text(&o).contains("queue paused"), "{}", text(&o));
    let o = run(&["monitor", "--once"]);
    assert!(o.status.success() && text(&o).contains("paused") && text(&o).contains("2 round trips"), "{}", text(&o));
    let o = run(&["audit", "--show", "s1"]);
    assert!(text(&o).contains("pause s1:d1") && text(&o).contains("DRAFT → OPEN"), "{}", text(&o));
    let o = run(&["buyer", "join", "s1:d1", "bad buyer"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("1 to 128 characters"), "{}", text(&o));
    let o = run(&["buyer", "status", "s1:d1", "1.1"]);
    assert_eq!(o.status.code(), Some(2));
    let out = dir.path().join("export.json");
    assert!(run(&["shows", "export", out.to_str().unwrap()]).status.success());
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"status\": \"OPEN\""));
}

fn node_reference(args: &[&str]) -> serde_json::Value {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/ably-js");
    assert!(
        std::path::Path::new(dir).join("node_modules/ably").exists(),
        "the ably npm package is missing from tests/ably-js: run scripts/setup.sh (it runs npm ci there)"
    );
    let o = Command::new("node")
        .arg(format!("{dir}/token-request.mjs"))
        .args(args)
        .output()
        .expect("node is installed by scripts/setup.sh");
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ably_token_requests_match_ably_js_and_buyers_are_told() {
    use seatwise_ably_standin::{Config, StandIn};
    let ably = StandIn::start(Config::default()).await;
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let (url, key, endpoint) = (server.url(), ably.key(), ably.url());
    let env = [("SEATWISE_ABLY_KEY", key.as_str()), ("SEATWISE_ABLY_ENDPOINT", endpoint.as_str())];
    let run = |args: &[&str]| tokio::task::block_in_place(|| seatwise_env(Some(&url), &env, args));
    let dir = tempfile::tempdir().unwrap();
    let file = hamlet_file(&dir);
    assert!(run(&["shows", "import", file.to_str().unwrap()]).status.success());
    assert!(run(&["status", "s1", "OPEN"]).status.success());
    let mut tickets = Vec::new();
    for b in ["ann", "bob", "cy"] {
        let o = run(&["--json", "buyer", "join", "s1:d1", b]);
        let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        tickets.push(t["ticket"].as_str().unwrap().to_string());
    }
    // The token request for ann, signed at a fixed time with a fixed nonce...
    let o = run(&[
        "token-request",
        "s1:d1",
        &tickets[0],
        "ann",
        "--ttl-ms",
        "600000",
        "--timestamp",
        "1767225600000",
        "--nonce",
        "abcdefghijklmnop0123",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let ours: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // ...is byte for byte what ably-js makes from the same inputs.
    let theirs = node_reference(&[
        &key,
        "600000",
        ours["capability"].as_str().unwrap(),
        "ann",
        "1767225600000",
        "abcdefghijklmnop0123",
    ]);
    assert_eq!(ours["mac"], theirs["mac"], "ours {ours} / ably-js {theirs}");
    assert_eq!(ours, theirs);
    assert!(!String::from_utf8_lossy(&o.stdout).contains(key.split(':').nth(1).unwrap()));
    // Someone else's ticket: refused.
    let o = run(&["token-request", "s1:d1", &tickets[0], "bob"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    // The worker delivers the outbox once.
    let o = run(&["worker", "--once"]);
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["delivered"], 2, "queue opened + ann's turn: {r}");
    // Closing tells everyone, with a progress bar.
    let o = run(&["status", "s1", "CLOSED"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("telling buyers of s1:d1") && text(&o).contains("3/3"), "{}", text(&o));
    for t in &tickets {
        let got = ably.messages(&format!("seatwise:ticket:s1:d1:{t}"));
        assert!(got.iter().any(|m| m.name == "ticket.queue_closed"), "{t}: {got:?}");
    }
    let o = run(&["ably-check"]);
    assert!(o.status.success() && text(&o).contains("Ably credentials work"), "{}", text(&o));
    let o = tokio::task::block_in_place(|| {
        seatwise_env(
            Some(&url),
            &[("SEATWISE_ABLY_KEY", "not-a-key"), ("SEATWISE_ABLY_ENDPOINT", endpoint.as_str())],
            &["ably-check"],
        )
    });
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("appId.keyId:secret"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_works_over_upstash_rest() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let rest = seatwise_upstash_standin::UpstashStandIn::start(&server.url(), "cli-rest-token").await;
    let url = rest.url();
    let env = [("SEATWISE_UPSTASH_URL", url.as_str()), ("SEATWISE_UPSTASH_TOKEN", "cli-rest-token")];
    let run = |args: &[&str]| tokio::task::block_in_place(|| seatwise_env(None, &env, args));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shows.json");
    std::fs::write(&file, r#"{"shows":[{"id":"r1","name":"R","venue":"V","schedules":[{"id":"d1","startsAt":"2026-03-15T19:30","timeZone":"UTC","capacity":1}]}]}"#).unwrap();
    assert!(run(&["shows", "import", file.to_str().unwrap()]).status.success());
    let o = run(&["status", "r1", "OPEN"]);
    assert!(o.status.success() && text(&o).contains("queue opened"), "{}", text(&o));
    assert!(run(&["stats", "r1"]).status.success()); // loads the stats script into Redis
    let o = run(&["monitor", "--once"]);
    assert!(text(&o).contains("2 round trips") && text(&o).contains("r1"), "{}", text(&o));
    // The token only ever comes from the environment; a wrong one is an auth error (exit 5).
    let o = tokio::task::block_in_place(|| {
        seatwise_env(
            None,
            &[("SEATWISE_UPSTASH_URL", url.as_str()), ("SEATWISE_UPSTASH_TOKEN", "nope-token-yak")],
            &["shows", "list"],
        )
    });
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(!text(&o).contains("nope-token-yak"));
    let o = tokio::task::block_in_place(|| {
        seatwise_env(None, &[("SEATWISE_UPSTASH_URL", url.as_str())], &["shows", "list"])
    });
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("SEATWISE_UPSTASH_TOKEN"), "{}", text(&o));
}

/// A password typed with --redis-url is visible in `ps`: the CLI warns and points to the variable, and
/// the warning never repeats the password. The variable itself draws no warning.
#[test]
fn a_password_on_the_command_line_draws_a_warning() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let url = server.url().replace("redis://", "redis://default:@");
    let o = seatwise(None, &["--redis-url", &url, "shows", "list"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("warning") && text(&o).contains("SEATWISE_REDIS_URL"), "{}", text(&o));
    let o = seatwise(Some(&url), &["shows", "list"]);
    assert!(o.status.success() && !text(&o).contains("warning"), "{}", text(&o));
    // --cluster keeps a comma inside a password: the list splits only where the next URL starts.
    let o = seatwise(
        None,
        &[
            "--cluster",
            "redis://:pa,ss@127.0.0.1:1,redis://:pa,ss@127.0.0.1:2",
            "--connect-timeout-ms",
            "300",
            "shows",
            "list",
        ],
    );
    assert!(!text(&o).contains("invalid Redis URL"), "{}", text(&o));
    assert!(!text(&o).contains("pa,ss") && !text(&o).contains("ss@"), "{}", text(&o));
}

/// `seatwise demo` with a Redis configured refuses unless told explicitly, and `simulate` never touches a
/// real show.
#[test]
fn the_demo_and_the_simulator_stay_off_real_shows() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let url = server.url();
    let o = seatwise(Some(&url), &["demo", "--duration", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--on-configured-redis"), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let file = hamlet_file(&dir);
    assert!(seatwise(Some(&url), &["shows", "import", file.to_str().unwrap()]).status.success());
    assert!(seatwise(Some(&url), &["status", "s1", "OPEN"]).status.success());
    let o = seatwise(Some(&url), &["simulate", "--duration", "1"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("demo show"), "{}", text(&o));
    let o = seatwise(Some(&url), &["simulate", "--show", "s1", "--duration", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("real seats"), "{}", text(&o));
    let o = seatwise(Some(&url), &["--json", "stats", "s1"]);
    assert!(text(&o).contains("\"queueSize\": 0"), "nobody joined: {}", text(&o));
}

/// TLS with the venue's own CA and a client certificate (mutual TLS): given by flags or variables, it
/// works; without the CA the message says which flag gives it (exit 5); the key never shows.
#[test]
fn tls_with_a_private_ca_and_a_client_certificate() {
    let p = pki::pki();
    let server = p.server("server", true);
    let url = format!("rediss://localhost:{}", server.tls_port().unwrap());
    let d = p.dir.path();
    std::fs::write(d.join("client.crt"), &p.client_cert_pem).unwrap();
    std::fs::write(d.join("client.key"), &p.client_key_pem).unwrap();
    let path = |f: &str| d.join(f).display().to_string();
    let ok = seatwise_env(
        Some(&url),
        &[("SEATWISE_TLS_CERT", &path("client.crt")), ("SEATWISE_TLS_KEY", &path("client.key"))],
        &["--tls-ca", &path("ca.crt"), "shows", "list"],
    );
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let no_ca = seatwise(Some(&url), &["shows", "list"]);
    let err = String::from_utf8_lossy(&no_ca.stderr);
    assert_eq!(no_ca.status.code(), Some(5), "{err}");
    assert!(err.contains("--tls-ca"), "{err}");
    let no_cert = seatwise(Some(&url), &["--tls-ca", &path("ca.crt"), "shows", "list"]);
    let err = String::from_utf8_lossy(&no_cert.stderr);
    assert!(err.contains("client certificate") && !err.contains("PRIVATE KEY"), "{err}");
    // The system's trust store is used by default: a CA installed there (here through SSL_CERT_FILE,
    // which the native store honours) needs no flag.
    let system = seatwise_env(
        Some(&url),
        &[
            ("SSL_CERT_FILE", &path("ca.crt")),
            ("SEATWISE_TLS_CERT", &path("client.crt")),
            ("SEATWISE_TLS_KEY", &path("client.key")),
        ],
        &["shows", "list"],
    );
    assert!(system.status.success(), "{}", String::from_utf8_lossy(&system.stderr));
    let missing = seatwise(Some(&url), &["--tls-ca", &path("nope.crt"), "shows", "list"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--tls-ca: cannot read"));
}

/// Who made a change is the OS account even when the session has no $USER (a desktop started without
/// it, a service): it used to be recorded as "@host".
#[test]
fn without_user_in_the_environment_changes_are_recorded_as_the_os_account() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = hamlet_file(&dir);
    let mut c = Command::new(env!("CARGO_BIN_EXE_seatwise"));
    c.args(["shows", "import", file.to_str().unwrap()]).env("SEATWISE_REDIS_URL", server.url());
    c.env_remove("USER").env_remove("USERNAME").env_remove("LOGNAME");
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = seatwise(Some(&server.url()), &["--json", "shows", "show", "s1"]);
    let show: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let who = show["updatedBy"].as_str().unwrap();
    let account = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    assert_eq!(who.split('@').next(), Some(account.trim()), "{who}");
}

/// `seatwise serve` has no configuration in which it signs with a key Redis holds (SECURITY.md): it refuses
/// to start without one, says how to make one, and never prints it; `*` as a CORS origin is refused too.
#[test]
fn serve_refuses_to_start_without_its_own_key_or_with_a_wildcard_origin() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let url = server.url();
    let unset = [("SEATWISE_GATEWAY_KEY", ""), ("SEATWISE_GATEWAY_KEY_FILE", ""), ("SEATWISE_PASS_KEY", "")];
    let serve = ["serve", "--listen", "127.0.0.1:0"];
    let o = seatwise_env(Some(&url), &unset, &serve);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("SEATWISE_GATEWAY_KEY is required") && text(&o).contains("openssl rand"), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.key");
    std::fs::write(&file, "too-short-secret\n").unwrap();
    let env = [("SEATWISE_GATEWAY_KEY", ""), ("SEATWISE_GATEWAY_KEY_FILE", file.to_str().unwrap())];
    let o = seatwise_env(Some(&url), &env, &serve);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("at least 32 characters") && !text(&o).contains("too-short-secret"), "{}", text(&o));
    let key = "a gateway key of at least thirty-two characters";
    let o = seatwise_env(
        Some(&url),
        &[("SEATWISE_GATEWAY_KEY", key)],
        &["serve", "--listen", "127.0.0.1:0", "--cors-origin", "*"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("name each origin") && !text(&o).contains(key), "{}", text(&o));
}

/// Exit codes come from `ErrorCode` only (README, "Exit codes"): no face builds one from a number.
#[test]
fn the_cli_builds_no_exit_code_from_a_number() {
    let mut paths = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
    while let Some(path) = paths.pop() {
        if path.is_dir() {
            paths.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let code: String = std::fs::read_to_string(&path).unwrap().split_whitespace().collect();
        for i in code.match_indices("Fail(").map(|(i, _)| i + 5) {
            let next = code[i..].chars().next().unwrap_or(' ');
            assert!(!next.is_ascii_digit(), "{} builds a Fail from a number", path.display());
        }
    }
}
