//! The console's commands, called directly (as the UI's invokes do) against a real redis-server, the real
//! OS keyring (run through scripts/test.sh: a private D-Bus session with gnome-keyring) and the Ably
//! stand-in.
//!
//! Why one file of ~620 lines: one test per console flow against the same real keyring and Redis set-up.

mod ipc;

use std::path::PathBuf;

use seatwise_ably_standin::{Config, StandIn};
use seatwise_console::prefs::{MemoryPrefs, PrefsStore};
use seatwise_console::profiles::{ProfileInput, ProfileKind};
use seatwise_console::secrets::{self, Kind};
use seatwise_console::state::AppState;
use seatwise_engine::local::{RedisServer, ServerOptions};

#[path = "../support/pki.rs"]
mod pki;
use seatwise_engine::{Actor, ConnectOptions, ErrorCode, Redis, Target};

fn keyring_required() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "these tests use the real OS keyring: run them through scripts/test.sh, which starts a private D-Bus session with gnome-keyring"
    );
}

fn state(dir: &tempfile::TempDir) -> AppState {
    AppState::new(Box::<MemoryPrefs>::default(), PathBuf::from(dir.path()), Actor::new("tester", "test-host"))
}

/// Preferences the test can read after the app wrote them.
struct Shared(std::sync::Arc<MemoryPrefs>);

impl PrefsStore for Shared {
    fn get(&self, k: &str) -> Option<serde_json::Value> {
        self.0.get(k)
    }
    fn set(&self, k: &str, v: serde_json::Value) -> Result<(), String> {
        self.0.set(k, v)
    }
}

fn state_seeing(prefs: &std::sync::Arc<MemoryPrefs>, dir: &tempfile::TempDir) -> AppState {
    AppState::new(Box::new(Shared(prefs.clone())), dir.path().into(), Actor::new("t", "h"))
}

/// A unique profile name per test (the keyring is shared by the test process).
fn pname(tag: &str) -> String {
    format!("t-{tag}-{}", std::process::id())
}

async fn server_with_password(pw: &str) -> RedisServer {
    let s = RedisServer::start(&ServerOptions::default()).unwrap();
    let r = Redis::connect(&ConnectOptions::new(Target::Url(s.url()))).await.unwrap();
    r.query::<String>(redis::cmd("CONFIG").arg("SET").arg("requirepass").arg(pw)).await.unwrap();
    s
}

#[tokio::test]
async fn saving_a_profile_checks_offline_and_keeps_secrets_in_the_keyring_only() {
    keyring_required();
    let dir = tempfile::tempdir().unwrap();
    let prefs = std::sync::Arc::new(MemoryPrefs::default());
    let st = state_seeing(&prefs, &dir);
    let name = pname("save");
    // Bad input is refused with what is allowed, and nothing is saved.
    let bad = st
        .save_profile(ProfileInput { name: name.clone(), redis_url: "http://x".into(), ..Default::default() })
        .unwrap_err();
    assert!(bad.message.contains("rediss://"), "{bad}");
    let bad = st
        .save_profile(ProfileInput {
            name: name.clone(),
            redis_url: "redis://h:1".into(),
            ably_key: "nope".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(bad.message.contains("appId.keyId:secret"), "{bad}");
    assert!(st.profiles().is_empty());
    assert!(secrets::load(&name, Kind::Redis).unwrap().is_none(), "nothing half-saved");
    // A good profile: saved without any network (the host does not exist).
    let p = st
        .save_profile(ProfileInput {
            name: name.clone(),
            kind: Some(ProfileKind::Redis),
            redis_url: "rediss://:pw-horse-battery@redis.invalid:6380".into(),
            ably_key: "app.key:ably-secret-staple".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(p.redis_hint, "rediss://redis.invalid:6380");
    assert!(p.ably_hint.as_deref().unwrap().starts_with("app.key:"));
    let everything = serde_json::to_string(&prefs.get("profiles")).unwrap() + &serde_json::to_string(&p).unwrap();
    assert!(!everything.contains("pw-horse-battery") && !everything.contains("ably-secret-staple"), "{everything}");
    assert_eq!(
        secrets::load(&name, Kind::Redis).unwrap().unwrap().expose(),
        "rediss://:pw-horse-battery@redis.invalid:6380"
    );
    assert_eq!(secrets::load(&name, Kind::Ably).unwrap().unwrap().expose(), "app.key:ably-secret-staple");
    assert_eq!(format!("{:?}", secrets::load(&name, Kind::Ably).unwrap().unwrap()), "Secret(<redacted>)");
    // Editing with empty secret fields keeps the saved secrets (the hosts stay the same; moving to another
    // host asks for the secret again: a_saved_secret_never_follows_the_profile_to_another_host).
    st.save_profile(ProfileInput { name: name.clone(), ..Default::default() }).unwrap();
    assert!(secrets::load(&name, Kind::Redis).unwrap().is_some());
    assert!(secrets::load(&name, Kind::Ably).unwrap().is_some());
    st.delete_profile(&name).unwrap();
    assert!(secrets::load(&name, Kind::Redis).unwrap().is_none());
    assert!(secrets::load(&name, Kind::Ably).unwrap().is_none());
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "the app wrote no file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_console_runs_shows_status_monitor_and_actions() {
    keyring_required();
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir);
    let server = server_with_password("console-pass-1").await;
    let ably = StandIn::start(Config::default()).await;
    let name = pname("flow");
    st.save_profile(ProfileInput {
        name: name.clone(),
        redis_url: format!("redis://:console-pass-1@127.0.0.1:{}", server.port()),
        ably_key: ably.key(),
        ably_endpoint: ably.url(),
        ..Default::default()
    })
    .unwrap();
    let t = st.test_profile(&name).await.unwrap();
    assert!(t.redis.ok && t.ably.as_ref().unwrap().ok, "{t:?}");
    let info = st.connect(&name).await.unwrap();
    assert!(info.ably && !info.sandbox);
    // Simulated buyers book seats: never offered on a real connection.
    let err = st.simulate(true).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Rejected, "{err}");
    assert!(err.message.contains("only on the local sandbox"), "{err}");
    let out = st
        .import_shows(
            r#"{"shows":[{"id":"gala","name":"Gala","venue":"Hall","schedules":[
            {"id":"d1","startsAt":"2026-05-01T19:00","timeZone":"UTC","capacity":1},
            {"id":"d2","startsAt":"2026-05-02T19:00","timeZone":"UTC","capacity":1}]}]}"#,
        )
        .await
        .unwrap();
    assert_eq!(out[0].action, "created");
    let rows = st.shows().await.unwrap();
    let allowed: Vec<String> = rows[0].allowed.iter().map(|o| o.label.clone()).collect();
    assert_eq!(allowed, vec!["Upcoming", "Open (Queue Active)", "Cancelled"]);
    // The next scheduled opening comes from the engine (opening::next_opening), for the countdown.
    let later = r#"{"shows":[{"id":"later","name":"Later","venue":"Hall","saleOpensAt":"2099-01-01T19:00:00Z",
        "preQueueOpensAt":"2098-12-31T19:00:00Z",
        "schedules":[{"id":"d1","startsAt":"2099-05-01T19:00","timeZone":"UTC","capacity":1}]}]}"#;
    st.import_shows(later).await.unwrap();
    assert!(st.shows().await.unwrap().iter().all(|r| r.next_opening.is_none()), "drafts count down to nothing");
    assert!(st.change_status("later", "UPCOMING", Some(1), None).await.unwrap().success);
    let rows = st.shows().await.unwrap();
    let o = rows.iter().find(|r| r.show.id.as_str() == "later").unwrap().next_opening.clone().unwrap();
    assert_eq!((o.what.as_str(), o.at_ms), ("pre-queue opens", 4_070_890_800_000));
    let r = st.change_status("gala", "OPEN", Some(1), None).await.unwrap();
    assert!(r.success && r.queue_results.len() == 2);
    // Another console's change in between: a plain conflict with the current status.
    let err = st.change_status("gala", "CLOSED", Some(1), Some("gala")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("it is now OPEN"), "{err}");
    // Buyers arrive; the monitor sees them; staff act.
    let e = seatwise_engine::Engine::new(
        Redis::connect(&ConnectOptions::new(Target::Url(format!(
            "redis://:console-pass-1@127.0.0.1:{}",
            server.port()
        ))))
        .await
        .unwrap(),
    );
    let sc = seatwise_engine::Scope::parse("gala:d1").unwrap();
    for i in 0..4 {
        e.join(&sc, &seatwise_engine::BuyerId::new(&format!("b{i}")).unwrap()).await.unwrap();
    }
    let m = st.monitor().await.unwrap();
    let q = &m.shows[0].queue_statuses[0];
    assert_eq!((q.stats.queue_size, q.stats.active_sessions), (3, 1));
    assert_eq!(m.history["gala:d1"], vec![3]);
    // A queue's charts: its history, then only what came after the last sample drawn.
    e.sample_history(std::slice::from_ref(&sc)).await.unwrap();
    let h = st.queue_history("gala:d1", 1.0, None).await.unwrap();
    let last = h.last().expect("a sample in this 10-second slot").at_ms;
    assert_eq!(h.last().unwrap().queue_size, 3);
    assert!(st.queue_history("gala:d1", 1.0, Some(last)).await.unwrap().is_empty(), "nothing after the last");
    assert_eq!(st.queue_history("gala:d1", 1.0, Some(last - 1)).await.unwrap().len(), 1);
    let err = st.queue_history("gala:d1", 100.0, None).await.unwrap_err();
    assert!(err.code == ErrorCode::Invalid && err.message.contains("give 0.1 to 48 hours"), "{err}");
    assert!(st.queue_action("gala:d1", "pause", None).await.unwrap().contains("paused"));
    assert!(st.queue_action("gala:d1", "admit", Some("x".into())).await.unwrap_err().message.contains("whole number"));
    st.queue_action("gala:d1", "resume", None).await.unwrap();
    assert_eq!(st.queue_action("gala:d1", "admit", Some("2".into())).await.unwrap(), "admitted 2 buyers");
    st.queue_action("gala:d1", "announce", Some("Doors at 7".into())).await.unwrap();
    assert_eq!(st.buyers_to_tell("gala").await.unwrap(), 4);
    let csv = st.export_csv(dir.path().join("out")).await.unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("show,schedule") && text.contains("gala,d1"), "{text}");
    // A production profile (the default): cancelling needs the show's id typed, checked by the backend too.
    for typed in [None, Some("gal"), Some("other")] {
        let err = st.change_status("gala", "CANCELLED", None, typed).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Unconfirmed, "{err}");
        assert!(err.message.contains("type its id (gala) to confirm. Nothing was changed."), "{err}");
    }
    assert_eq!(st.buyers_to_tell("gala").await.unwrap(), 4, "nothing was changed");
    let r = st.change_status("gala", "CANCELLED", None, Some("gala")).await.unwrap();
    assert_eq!(r.queue_results[0].message, "queue closed; 4 buyers will be told");
    let audit = st.audit(Some("gala".into()), 50).await.unwrap();
    let audit: Vec<serde_json::Value> = audit.iter().map(|a| serde_json::to_value(a).unwrap()).collect();
    assert!(audit.iter().any(|a| a["action"] == "admit"), "{audit:?}");
    assert!(audit.iter().any(|a| a["kind"] == "status" && a["to"] == "CANCELLED"), "{audit:?}");
    // The console's own worker delivers to Ably (here the stand-in).
    for _ in 0..100 {
        if ably.messages("seatwise:queue:gala:d1").iter().any(|m| m.name == "queue.closed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ably.messages("seatwise:queue:gala:d1").iter().any(|m| m.name == "queue.closed"));
    // The next launch reconnects to this profile, unless staff disconnect by hand.
    assert_eq!(st.prefs_get()["lastProfile"], name.as_str());
    st.disconnect().await; // (as at the app's exit)
    assert_eq!(st.prefs_get()["lastProfile"], name.as_str());
    st.disconnect_by_hand().await;
    assert!(st.prefs_get()["lastProfile"].is_null());
    assert!(st.monitor().await.unwrap_err().code == ErrorCode::NotConnected);
    st.delete_profile(&name).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_the_test_without_revealing_them() {
    keyring_required();
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir);
    let server = server_with_password("right-pass").await;
    let ably = StandIn::start(Config::default()).await;
    let name = pname("wrong");
    st.save_profile(ProfileInput {
        name: name.clone(),
        redis_url: format!("redis://:wrong-pass-zebra@127.0.0.1:{}", server.port()),
        ably_key: "testapp.testkey:wrong-ably-zebra".into(),
        ably_endpoint: ably.url(),
        ..Default::default()
    })
    .unwrap();
    let t = st.test_profile(&name).await.unwrap();
    assert!(!t.redis.ok && !t.ably.as_ref().unwrap().ok, "{t:?}");
    let all = format!("{t:?}");
    assert!(all.contains("refused the credentials"), "{all}");
    assert!(!all.contains("wrong-pass-zebra") && !all.contains("wrong-ably-zebra"), "{all}");
    let err = st.connect(&name).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Auth);
    st.delete_profile(&name).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_starts_a_local_redis_with_demo_shows_and_buyers() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir);
    let info = st.start_sandbox().await.unwrap();
    assert!(info.sandbox && !info.ably);
    // The sandbox's redis-server requires a password: another user of this machine reaching its port gets
    // nothing, and the label the UI shows carries no password.
    assert!(info.label.starts_with("redis://127.0.0.1:") && !info.label.contains('@'), "{}", info.label);
    let stranger = Redis::connect(&ConnectOptions::new(Target::Url(info.label.clone()))).await;
    let refused = match stranger {
        Err(e) => e.to_string(),
        Ok(r) => r.query::<String>(&redis::cmd("PING")).await.unwrap_err().to_string(),
    };
    assert!(refused.contains("NOAUTH") || refused.contains("credentials"), "{refused}");
    let m = st.monitor().await.unwrap();
    assert_eq!(m.shows.len(), 2);
    assert!(m.simulator.is_some());
    assert_eq!(m.worker.as_ref().unwrap().state, seatwise_engine::notify::WorkerState::AblyNotConfigured);
    assert!(dir.path().join("sandbox").exists(), "the sandbox keeps its data in the app's data dir");
    // Buyers arrive and are admitted.
    let mut admitted = 0;
    for _ in 0..60 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let m = st.monitor().await.unwrap();
        admitted = m.shows.iter().flat_map(|s| &s.queue_statuses).map(|q| q.stats.admitted_total).sum::<u64>();
        if admitted > 0 {
            break;
        }
    }
    assert!(admitted > 0);
    // The sandbox runs a buyer gateway too, so a waiting page can be opened locally.
    let gw = info.gateway_url.clone().expect("the sandbox's gateway");
    let id = &m.shows[0].show_id;
    let q: serde_json::Value = reqwest::get(format!("{gw}/v1/shows/{id}/queue")).await.unwrap().json().await.unwrap();
    assert!(q["schedules"].as_array().is_some_and(|s| !s.is_empty()), "{q}");
    st.disconnect().await;
    assert!(reqwest::get(format!("{gw}/healthz")).await.is_err(), "the gateway stops with the sandbox");
}

/// With no Secret Service reachable, saving fails with a message saying what to install, and nothing is
/// stored anywhere else. Runs in a child process whose session bus address points nowhere.
#[test]
fn without_a_keyring_saving_fails_clearly_and_stores_nothing() {
    if std::env::var_os("SEATWISE_NO_KEYRING_CHILD").is_some() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(&dir);
        let err = st
            .save_profile(ProfileInput {
                name: "p".into(),
                redis_url: "redis://:pw-child@127.0.0.1:1".into(),
                ..Default::default()
            })
            .unwrap_err();
        println!("CHILD-ERROR {} {}", err.code, err.message);
        println!("CHILD-PROFILES {}", st.profiles().len());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "without_a_keyring_saving_fails_clearly_and_stores_nothing",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("SEATWISE_NO_KEYRING_CHILD", "1")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/seatwise-test-bus")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CHILD-ERROR keyring_unavailable"), "{text}");
    assert!(text.contains("Secret Service"), "{text}");
    assert!(text.contains("CHILD-PROFILES 0"), "{text}");
    assert!(!text.contains("pw-child"), "{text}");
}

/// Redis going away shows as a monitor error; the console recovers by itself when Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_recovers_by_itself_when_redis_comes_back() {
    keyring_required();
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir);
    let data = tempfile::tempdir().unwrap();
    let opts = ServerOptions { data_dir: Some(data.path().into()), ..Default::default() };
    let server = RedisServer::start(&opts).unwrap();
    let port = server.port();
    let name = pname("recover");
    st.save_profile(ProfileInput { name: name.clone(), redis_url: server.url(), ..Default::default() }).unwrap();
    st.connect(&name).await.unwrap();
    st.monitor().await.unwrap();
    server.shutdown();
    let err = st.monitor().await.unwrap_err();
    assert!([ErrorCode::Unreachable, ErrorCode::Redis].contains(&err.code), "{err}");
    let _back = RedisServer::start(&ServerOptions { port: Some(port), ..opts }).unwrap();
    let mut ok = false;
    for _ in 0..40 {
        if st.monitor().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(ok, "the monitor did not recover after Redis came back");
    st.disconnect().await;
    st.delete_profile(&name).unwrap();
}

/// An Upstash REST profile: the REST URL in the preferences, the token in the keyring only, and the whole
/// console working over HTTPS-style requests (the REST stand-in in front of a real redis-server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstash_rest_profile_runs_the_console_over_rest() {
    keyring_required();
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir);
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let rest = seatwise_upstash_standin::UpstashStandIn::start(&server.url(), "rest-token-okapi").await;
    let name = pname("upstash");
    let bad = st
        .save_profile(ProfileInput {
            name: name.clone(),
            kind: Some(ProfileKind::Upstash),
            rest_url: "redis://x".into(),
            rest_token: "t".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(bad.message.contains("Upstash console"), "{bad}");
    let p = st
        .save_profile(ProfileInput {
            name: name.clone(),
            kind: Some(ProfileKind::Upstash),
            rest_url: rest.url(),
            rest_token: "rest-token-okapi".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(p.rest_url.as_deref(), Some(rest.url().as_str()));
    assert!(p.redis_hint.starts_with("REST http://127.0.0.1:"));
    assert!(!serde_json::to_string(&st.profiles()).unwrap().contains("rest-token-okapi"));
    assert_eq!(secrets::load(&name, Kind::Redis).unwrap().unwrap().expose(), "rest-token-okapi");
    assert!(st.test_profile(&name).await.unwrap().redis.ok);
    st.connect(&name).await.unwrap();
    st.import_shows(r#"{"shows":[{"id":"up","name":"Up","venue":"V","schedules":[{"id":"d1","startsAt":"2026-05-01T19:00","timeZone":"UTC","capacity":1}]}]}"#).await.unwrap();
    assert!(st.change_status("up", "OPEN", None, None).await.unwrap().success);
    let m = st.monitor().await.unwrap();
    assert_eq!(m.shows[0].queue_statuses[0].stats.state, seatwise_engine::QueueState::Open);
    st.disconnect().await;
    st.delete_profile(&name).unwrap();
}

/// When the preferences cannot be written, the keyring is put back as it was: a profile and its secrets
/// change together or not at all.
#[tokio::test]
async fn a_failed_save_leaves_the_keyring_as_it_was() {
    keyring_required();
    struct Failing;
    impl PrefsStore for Failing {
        fn get(&self, _: &str) -> Option<serde_json::Value> {
            None
        }
        fn set(&self, _: &str, _: serde_json::Value) -> Result<(), String> {
            Err("disk full".into())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let st = AppState::new(Box::new(Failing), dir.path().into(), Actor::new("t", "h"));
    let name = pname("rollback");
    secrets::save(&name, Kind::Ably, &secrets::Secret::new("app.key:old-secret".into())).unwrap();
    let err = st
        .save_profile(ProfileInput {
            name: name.clone(),
            redis_url: "redis://h:1".into(),
            ably_key: "app.key:new-secret".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.message.contains("disk full"), "{err}");
    assert!(secrets::load(&name, Kind::Redis).unwrap().is_none(), "the new Redis secret was removed again");
    assert_eq!(
        secrets::load(&name, Kind::Ably).unwrap().unwrap().expose(),
        "app.key:old-secret",
        "the old key is back"
    );
    secrets::delete(&name, Kind::Ably).unwrap();
}

/// A saved secret is only ever sent to the host it was saved for: pointing a profile at another host with
/// the secret field left empty asks for the secret again, and plain http:// is refused for remote hosts.
#[test]
fn a_saved_secret_never_follows_the_profile_to_another_host() {
    keyring_required();
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir);
    let name = pname("hostbind");
    let upstash = |url: &str, token: &str, endpoint: &str, key: &str| ProfileInput {
        name: name.clone(),
        kind: Some(ProfileKind::Upstash),
        rest_url: url.into(),
        rest_token: token.into(),
        ably_endpoint: endpoint.into(),
        ably_key: key.into(),
        ..Default::default()
    };
    st.save_profile(upstash("https://db-one.example", "tok-one-heron", "https://ably-one.example", "a.b:key-one-ibis"))
        .unwrap();
    // The REST URL moves to another host, token left empty: refused, nothing changed.
    let err = st.save_profile(upstash("https://db-two.example", "", "https://ably-one.example", "")).unwrap_err();
    assert!(err.message.contains("enter the REST token again"), "{err}");
    assert_eq!(st.profiles()[0].rest_url.as_deref(), Some("https://db-one.example"));
    // The Ably endpoint moves (to another host, or back to Ably's production hosts), key left empty: refused.
    for endpoint in ["https://ably-two.example", ""] {
        let err = st.save_profile(upstash("https://db-one.example", "", endpoint, "")).unwrap_err();
        assert!(err.message.contains("enter the Ably API key again"), "{endpoint:?}: {err}");
    }
    assert_eq!(st.profiles()[0].ably_endpoint.as_deref(), Some("https://ably-one.example"));
    // Same hosts (another path or port is the same host): the saved secrets stay.
    st.save_profile(upstash("https://db-one.example/", "", "https://ably-one.example:443", "")).unwrap();
    assert_eq!(secrets::load(&name, Kind::Redis).unwrap().unwrap().expose(), "tok-one-heron");
    // With the secrets typed again the move is fine.
    st.save_profile(upstash(
        "https://db-two.example",
        "tok-two-crane",
        "https://ably-two.example",
        "a.b:key-two-stork",
    ))
    .unwrap();
    assert_eq!(secrets::load(&name, Kind::Ably).unwrap().unwrap().expose(), "a.b:key-two-stork");
    // Plain http:// only to this machine; and a key pasted into the endpoint field is not printed back.
    let err = st.save_profile(upstash("http://db-two.example", "tok", "", "")).unwrap_err();
    assert!(err.message.contains("only for a server on this machine"), "{err}");
    let err = st.save_profile(upstash("https://db-two.example", "", "http://ably-two.example", "")).unwrap_err();
    assert!(err.message.contains("only for a server on this machine"), "{err}");
    let err = st.save_profile(upstash("https://db-two.example", "", "app.key:pasted-secret-egret", "")).unwrap_err();
    assert!(!err.message.contains("pasted-secret-egret"), "{err}");
    st.save_profile(upstash("http://127.0.0.1:1", "tok-local", "http://localhost:2", "a.b:local")).unwrap();
    st.delete_profile(&name).unwrap();
}

/// A watch-only profile (a Redis ACL user limited to reads): the monitor, shows and audit log work, the
/// console runs no notification worker, and every change is refused with a clear message — by the console
/// before sending, and by Redis itself when sent anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_only_profile_watches_and_changes_nothing() {
    keyring_required();
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir);
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let admin =
        seatwise_engine::Engine::new(Redis::connect(&ConnectOptions::new(Target::Url(server.url()))).await.unwrap());
    let shows = seatwise_engine::shows::parse_shows_file(
        "t",
        r#"{"shows":[{"id":"gala","name":"Gala","venue":"Hall","schedules":[
        {"id":"d1","startsAt":"2026-05-01T19:00","timeZone":"UTC","capacity":1}]}]}"#,
    )
    .unwrap();
    let boss = Actor::new("boss", "box-office");
    admin.import_shows(&shows, &boss).await.unwrap();
    let gala = seatwise_engine::ShowId::new("gala").unwrap();
    admin.update_show_status(&gala, seatwise_engine::ShowStatus::Open, &boss, None).await.unwrap();
    // The ACL line a Redis admin runs (docs/PROTOCOL.md, "Watch-only access").
    let mut acl = redis::cmd("ACL");
    acl.arg("SETUSER").arg("watcher").arg(">watcher-pass-1").arg(seatwise_engine::redis_conn::WATCH_ONLY_ACL);
    admin.redis().query::<String>(&acl).await.unwrap();
    let name = pname("watch");
    st.save_profile(ProfileInput {
        name: name.clone(),
        redis_url: format!("redis://watcher:watcher-pass-1@127.0.0.1:{}", server.port()),
        watch_only: true,
        ..Default::default()
    })
    .unwrap();
    let info = st.connect(&name).await.unwrap();
    assert!(info.watch_only && !info.ably);
    let m = st.monitor().await.unwrap();
    assert_eq!(m.shows.len(), 1, "the monitor works");
    assert_eq!(st.shows().await.unwrap().len(), 1);
    assert!(!st.audit(None, 10).await.unwrap().is_empty());
    let err = st.change_status("gala", "CLOSED", None, Some("gala")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ReadOnly, "{err}");
    assert!(err.message.contains("only watches"), "{err}");
    let err = st.queue_action("gala:d1", "pause", None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ReadOnly, "{err}");
    assert_eq!(admin.get_show(&gala).await.unwrap().status, seatwise_engine::ShowStatus::Open);
    st.disconnect().await;
    st.delete_profile(&name).unwrap();
}

/// A profile for a Redis with the venue's own CA that requires a client certificate: the CA given as a
/// file path, the certificate and key as pasted PEM. It connects; the key is only in the keyring (not in
/// the saved profile, not in what the webview gets); without the certificate the test says what is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_with_a_private_ca_and_a_client_certificate_connects() {
    keyring_required();
    let dir = tempfile::tempdir().unwrap();
    let prefs = std::sync::Arc::new(MemoryPrefs::default());
    let st = state_seeing(&prefs, &dir);
    let p = pki::pki();
    let server = p.server("server", true);
    let name = pname("mtls");
    let url = format!("rediss://localhost:{}", server.tls_port().unwrap());
    let saved = st
        .save_profile(ProfileInput {
            name: name.clone(),
            redis_url: url.clone(),
            tls_ca: p.dir.path().join("ca.crt").display().to_string(),
            tls_client_cert: p.client_cert_pem.clone(),
            tls_client_key: p.client_key_pem.clone(),
            ..Default::default()
        })
        .unwrap();
    assert!(saved.tls_ca.as_deref().is_some_and(|c| c.contains("BEGIN CERTIFICATE")));
    let t = st.test_profile(&name).await.unwrap();
    assert!(t.redis.ok, "{t:?}");
    st.connect(&name).await.unwrap();
    st.disconnect().await;
    let key_marker = p.client_key_pem.lines().nth(1).unwrap().to_string();
    let stored = serde_json::to_string(&prefs.get("profiles")).unwrap();
    assert!(!stored.contains(&key_marker), "the client key is not in the saved profile");
    assert!(!serde_json::to_string(&st.profiles()).unwrap().contains(&key_marker));
    assert!(secrets::load(&name, Kind::TlsKey).unwrap().is_some_and(|k| k.expose().contains(&key_marker)));
    // A key without a certificate is refused before anything is saved.
    let err = st
        .save_profile(ProfileInput {
            name: pname("halfkey"),
            redis_url: url,
            tls_client_key: p.client_key_pem.clone(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.message.contains("give both or neither") && !err.message.contains("PRIVATE"), "{err}");
    st.delete_profile(&name).unwrap();
    assert!(secrets::load(&name, Kind::TlsKey).unwrap().is_none());
}

/// The UI names the engine's states through `ui/states.js`, whose values are the engine's serialization of
/// every variant, and compares no state by spelling it out.
#[test]
fn the_ui_compares_states_by_the_engines_names_only() {
    use seatwise_engine::QueueState as Q;
    use seatwise_engine::notify::WorkerState as W;
    let ui = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");
    let states = std::fs::read_to_string(format!("{ui}/states.js")).unwrap();
    let queue =
        [Q::Open, Q::Paused, Q::Closed, Q::Prequeue, Q::None, Q::Error].map(|v| serde_json::to_value(v).unwrap());
    let worker = [W::Starting, W::Running, W::AblyNotConfigured, W::AblyUnreachable, W::RedisUnreachable, W::Stopped]
        .map(|v| serde_json::to_value(v).unwrap());
    for v in queue.iter().chain(&worker) {
        let name = v.as_str().unwrap();
        let constant = format!("{}: '{name}'", name.to_ascii_uppercase());
        assert!(states.contains(&constant), "ui/states.js lacks {constant}");
    }
    let values: Vec<String> = queue.iter().chain(&worker).map(|v| v.as_str().unwrap().to_string()).collect();
    for entry in std::fs::read_dir(ui).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "js") || path.ends_with("states.js") {
            continue;
        }
        let code = std::fs::read_to_string(&path).unwrap();
        for v in &values {
            for op in ["=== ", "!== ", "== ", "!= "] {
                let spelled = format!("{op}'{v}'");
                assert!(!code.contains(&spelled), "{} compares a state by text: {spelled}", path.display());
            }
        }
    }
}
