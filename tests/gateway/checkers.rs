//! The pass checkers venues use (integrations/): each one's own tests, then each one's command line
//! against passes issued by a real gateway — valid, forged, expired, and released (the online check).

use std::path::PathBuf;
use std::process::Command;

use reqwest::StatusCode;
use seatwise_engine::gate::{KeyRing, Pass};

use crate::support::*;
use crate::*;

const PASS_KEY: &str = "the venue's pass key, at least 32 characters";

fn integrations() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../integrations")
}

/// (language, its own tests, its command line), each run in integrations/<language> — runtimes from
/// Debian packages (scripts/setup.sh).
fn checkers() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        ("node", vec!["node", "--test", "."], vec!["node", "seatwise-pass.mjs"]),
        ("python", vec!["python3", "-m", "unittest", "discover", "."], vec!["python3", "seatwise_pass.py"]),
        ("php", vec!["php", "test.php"], vec!["php", "SeatwisePass.php"]),
        ("go", vec!["go", "test", "./..."], vec!["go", "run", "./cmd/seatwise-pass"]),
    ]
}

fn run(lang: &str, cmd: &[&str], envs: &[(&str, &str)], arg: Option<&str>) -> (bool, String) {
    let mut c = Command::new(cmd[0]);
    c.args(&cmd[1..]).current_dir(integrations().join(lang)).env_remove("SEATWISE_GATEWAY");
    if let Some(a) = arg {
        c.arg(a);
    }
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().unwrap_or_else(|e| panic!("{}: {e} (installed by scripts/setup.sh)", cmd[0]));
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checker_accepts_only_live_passes_of_a_real_gateway() {
    for (lang, tests, _) in checkers() {
        let (ok, out) = run(lang, &tests, &[], None);
        assert!(ok, "{lang}'s own tests:\n{out}");
    }
    let t = start().await;
    let e = &t.engine;
    open_show(e, &show("s1", 1, 1, 600.0, 600.0)).await;
    let ring = KeyRing::from_text("pass key", PASS_KEY, "").unwrap();
    let g = gateway(e, Config { pass_keys: Some(ring.clone()), ..config() }).await;
    let mut b = Browser::new();
    let j = b.post(&format!("{}/v1/queues/s1/d1/tickets", g.url()), json!({})).await;
    assert_eq!(j.status, StatusCode::OK);
    let pass = j.body["pass"].as_str().expect("an admitted buyer's pass").to_string();
    let ticket = j.body["ticket"].as_str().unwrap().to_string();
    let forged = forge(&pass);
    let expired = Pass { scope: "s1:d1".into(), ticket: ticket.clone(), exp: 1_000, kid: String::new() }.sign(&ring);
    let offline = [("SEATWISE_PASS_KEY", PASS_KEY)];
    let gw = g.url();
    let online = [("SEATWISE_PASS_KEY", PASS_KEY), ("SEATWISE_GATEWAY", gw.as_str())];
    for (lang, _, cli) in checkers() {
        let (ok, out) = run(lang, &cli, &online, Some(&pass));
        assert!(ok && out.contains(&ticket), "{lang}: a live pass, online: {out}");
        let (ok, out) = run(lang, &cli, &offline, Some(&forged));
        assert!(!ok && out.contains("signature"), "{lang}: forged: {out}");
        let (ok, out) = run(lang, &cli, &offline, Some(&expired));
        assert!(!ok && out.contains("expired"), "{lang}: expired: {out}");
    }
    // The buyer leaves: offline the pass still looks good until it expires; online it is refused.
    let left = b.call(reqwest::Method::DELETE, &format!("{}/v1/queues/s1/d1/tickets/{ticket}", g.url()), None).await;
    assert_eq!(left.status, StatusCode::OK);
    for (lang, _, cli) in checkers() {
        assert!(run(lang, &cli, &offline, Some(&pass)).0, "{lang}: offline cannot see a departure");
        let (ok, out) = run(lang, &cli, &online, Some(&pass));
        assert!(!ok && out.contains("session has ended"), "{lang}: released, online: {out}");
    }
}
