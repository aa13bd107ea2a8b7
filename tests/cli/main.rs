//! The `seatwise` binary: messages and exit codes, against a real redis-server.

use std::process::{Command, Output};

use seatwise_engine::local::{RedisServer, ServerOptions};

fn seatwise(url: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_seatwise"));
    c.args(args)
        .env_remove("SEATWISE_REDIS_URL")
        .env_remove("SEATWISE_REDIS_CLUSTER");
    if let Some(u) = url {
        c.env("SEATWISE_REDIS_URL", u);
    }
    c.output().expect("run seatwise")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn without_redis_it_says_how_to_configure_one() {
    let o = seatwise(None, &["shows", "list"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("SEATWISE_REDIS_URL") && text(&o).contains("seatwise demo"),
        "{}",
        text(&o)
    );
}

#[test]
fn an_unreachable_redis_exits_5() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    let o = seatwise(
        Some(&url),
        &["shows", "list", "--connect-timeout-ms", "800"],
    );
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(!text(&o).contains("hunter2"), "{}", text(&o));
}

#[test]
fn the_whole_flow_from_the_command_line() {
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shows.json");
    std::fs::write(
        &file,
        r#"{"shows":[{"id":"s1","name":"Hamlet","venue":"Globe","schedules":[
            {"id":"d1","startsAt":"2026-03-15T19:30","timeZone":"Europe/London","capacity":1}]}]}"#,
    )
    .unwrap();
    let run = |args: &[&str]| seatwise(Some(&url), args);
    let o = run(&["shows", "import", file.to_str().unwrap()]);
    assert!(
        o.status.success() && text(&o).contains("created"),
        "{}",
        text(&o)
    );
    let o = run(&["status", "s1", "CLOSED"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("allowed statuses are UPCOMING, OPEN, CANCELLED"),
        "{}",
        text(&o)
    );
    let o = run(&["status", "s1", "open"]);
    assert!(
        o.status.success() && text(&o).contains("s1:d1") && text(&o).contains("queue opened"),
        "{}",
        text(&o)
    );
    let o = run(&["--json", "buyer", "join", "s1:d1", "alice"]);
    let a: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(a["state"], "admitted");
    let o = run(&["--json", "buyer", "join", "s1:d1", "bob"]);
    let b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (b["state"].as_str(), b["rank"].as_u64()),
        (Some("waiting"), Some(1))
    );
    let at = a["ticket"].as_str().unwrap();
    assert!(
        run(&["buyer", "hold", "s1:d1", at, "A1", "A2"])
            .status
            .success()
    );
    let o = run(&["buyer", "complete", "s1:d1", at]);
    assert!(text(&o).contains("booked A1 A2"), "{}", text(&o));
    let o = run(&[
        "buyer",
        "hold",
        "s1:d1",
        b["ticket"].as_str().unwrap(),
        "A2",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("seats already held or sold: A2"),
        "{}",
        text(&o)
    );
    let o = run(&["--json", "stats", "s1"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s[0]["queueStatuses"][0]["activeSessions"], 1);
    assert_eq!(s[0]["queueStatuses"][0]["admittedTotal"], 2);
    let o = run(&["queue", "pause", "s1:d1"]);
    assert!(text(&o).contains("queue paused"), "{}", text(&o));
    let o = run(&["monitor", "--once"]);
    assert!(
        o.status.success() && text(&o).contains("paused") && text(&o).contains("2 round trips"),
        "{}",
        text(&o)
    );
    let o = run(&["audit", "--show", "s1"]);
    assert!(
        text(&o).contains("pause s1:d1") && text(&o).contains("DRAFT → OPEN"),
        "{}",
        text(&o)
    );
    let o = run(&["buyer", "join", "s1:d1", "bad buyer"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("1 to 128 characters"), "{}", text(&o));
    let o = run(&["buyer", "status", "s1:d1", "1.1"]);
    assert_eq!(o.status.code(), Some(2));
    let out = dir.path().join("export.json");
    assert!(
        run(&["shows", "export", out.to_str().unwrap()])
            .status
            .success()
    );
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("\"status\": \"OPEN\"")
    );
}
