//! End to end: the real console window under Xvfb, driven through WebDriver (tauri-driver with
//! WebKitWebDriver), with the real OS keyring (a private D-Bus session with gnome-keyring, provided by
//! scripts/test.sh), a real redis-server with a password, and the Ably stand-in. Saves screenshots of
//! the main screens into docs/screenshots/.
//!
//! Why one file of ~950 lines: each test drives one real window session end to end (a journey through
//! every view), and they share the window, driver and keyring set-up that lives here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use seatwise_ably_standin::{Config, StandIn};
use seatwise_engine::local::{RedisServer, ServerOptions};

#[path = "../support/axe.rs"]
mod axe;
mod package;
#[path = "../support/pki.rs"]
mod pki;
#[path = "../support/process.rs"]
mod process;
use axe::axe_check;
use seatwise_engine::{BuyerId, ConnectOptions, Engine, Redis, Scope, Target};

use process::{Proc, free_port};

fn tool(name: &str) -> PathBuf {
    let cargo_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin").join(name));
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .chain(cargo_bin)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} is not installed: run scripts/setup.sh"))
}

fn start_xvfb() -> (Proc, String) {
    for n in 90..200 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            continue;
        }
        let child = Command::new(tool("Xvfb"))
            .args([
                format!(":{n}"),
                "-screen".into(),
                "0".into(),
                "1280x800x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let p = Proc(child);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (p, format!(":{n}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("no free X display for Xvfb");
}

/// Files under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_containing(&p, needle));
        } else if let Ok(bytes) = std::fs::read(&p)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            out.push(p);
        }
    }
    out
}

/// The node was replaced between finding and using it (both spellings WebKitWebDriver uses).
fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    format!("{e:?}").contains("StaleElement") || e.to_string().contains("Stale element")
}

/// Waits for `sel`. WebKitWebDriver can answer "stale element" while the UI re-renders the node it was
/// about to hand over (the monitor refreshes itself); that is retried, any other error fails the test.
async fn css(c: &Client, sel: &str) -> fantoccini::elements::Element {
    let mut last = String::new();
    for _ in 0..30 {
        match c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(sel)).await {
            Ok(e) => return e,
            Err(e) if is_stale(&e) => {
                last = e.to_string();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{sel}: {e}"),
        }
    }
    panic!("{sel}: the element kept being replaced ({last})");
}

async fn text_of(c: &Client, sel: &str) -> String {
    css(c, sel).await.text().await.unwrap()
}

/// Puts the console's window in the background as switching to another app would: Xvfb has no window
/// manager, so the X input focus is simply taken away (the window gets FocusOut, GTK marks it inactive).
fn to_background(display: &str) {
    let xlib = x11_dl::xlib::Xlib::open().expect("libX11");
    let name = std::ffi::CString::new(display).unwrap();
    // SAFETY: a display connection opened, used and closed here only.
    unsafe {
        let d = (xlib.XOpenDisplay)(name.as_ptr());
        assert!(!d.is_null(), "open X display {display}");
        (xlib.XSetInputFocus)(d, 0, x11_dl::xlib::RevertToNone, x11_dl::xlib::CurrentTime);
        (xlib.XSync)(d, 0);
        (xlib.XCloseDisplay)(d);
    }
}

/// One console at a time: the console is a single instance per D-Bus session (a second launch hands over
/// to the first and ends), and every test here shares scripts/test.sh's session (its keyring). Each test
/// holds this while its console runs (`console_turn`).
static ONE_CONSOLE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts tauri-driver for the console binary `app` on `display` (with its own data and config folders)
/// and opens a WebDriver session, which launches the app's window.
async fn open_console(app: &str, display: &str, data: &Path, config: &Path) -> (Proc, Client) {
    let (port, native) = (free_port(), free_port());
    let driver = Proc(
        Command::new(tool("tauri-driver"))
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("DISPLAY", display)
            .env("XDG_DATA_HOME", data)
            .env("XDG_CONFIG_HOME", config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tauri-driver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert("tauri:options".into(), serde_json::json!({ "application": app }));
    let t = Instant::now();
    loop {
        match ClientBuilder::native().capabilities(caps.clone()).connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(c) => return (driver, c),
            Err(_) if t.elapsed() < Duration::from_secs(30) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("WebDriver session: {e}"),
        }
    }
}

/// Waits until `sel` is displayed.
async fn wait_shown(c: &Client, sel: &str, what: &str) {
    let t = Instant::now();
    while !css(c, sel).await.is_displayed().await.unwrap_or(false) {
        assert!(t.elapsed() < Duration::from_secs(15), "{what}: {sel} was not shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `sel` is no longer displayed.
async fn wait_hidden(c: &Client, sel: &str) {
    let t = Instant::now();
    while css(c, sel).await.is_displayed().await.unwrap_or(true) {
        assert!(t.elapsed() < Duration::from_secs(10), "{sel} stayed visible");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the text of `sel` satisfies `ok`.
async fn wait_text(c: &Client, sel: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
    let t = Instant::now();
    loop {
        let text = match c.find(Locator::Css(sel)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if ok(&text) {
            return text;
        }
        if t.elapsed() > Duration::from_secs(secs) {
            panic!("{sel}: waited {secs}s, last text {text:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks `sel`, finding it again if the UI re-rendered it in between (the monitor refreshes itself).
async fn click(c: &Client, sel: &str) {
    for _ in 0..30 {
        match css(c, sel).await.click().await {
            Ok(()) => return,
            Err(e) if is_stale(&e) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("click {sel}: {e}"),
        }
    }
    panic!("click {sel}: the element kept being replaced");
}

/// Types into `sel`, retrying while the page is not ready for input yet (the window may still be taking
/// focus, or the view re-rendering).
async fn type_into(c: &Client, sel: &str, text: &str) {
    for _ in 0..50 {
        match css(c, sel).await.send_keys(text).await {
            Ok(()) => return,
            Err(e) if format!("{e:?}").contains("NotInteractable") || is_stale(&e) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("type into {sel}: {e}"),
        }
    }
    panic!("type into {sel}: never became interactable");
}

/// Picks a status in a show's row and applies it, until the UI reacts with `expect` in `reaction_sel`
/// (a re-render of the table between the two steps resets the picker, so the pair is retried).
async fn apply_status(c: &Client, show: &str, status: &str, reaction_sel: &str, expect: &str) -> String {
    let row = format!("tr[data-show='{show}']");
    for _ in 0..10 {
        let picked = async {
            css(c, &format!("{row} select.status-select")).await.select_by_value(status).await?;
            css(c, &format!("{row} button[data-action='apply-status']")).await.click().await
        }
        .await;
        if picked.is_ok() {
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(4) {
                if let Ok(e) = c.find(Locator::Css(reaction_sel)).await {
                    let text = e.text().await.unwrap_or_default();
                    if text.contains(expect) {
                        return text;
                    }
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{show}: applying {status} never showed {expect:?} in {reaction_sel}");
}

async fn set_value(c: &Client, sel: &str, value: &str) {
    css(c, sel).await;
    c.execute(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('change'));",
        vec![serde_json::json!(sel), serde_json::json!(value)],
    )
    .await
    .unwrap();
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_end_to_end_in_the_real_window() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "the e2e test uses the real OS keyring: run it through scripts/test.sh (a private D-Bus session with gnome-keyring)"
    );
    let app = env!("CARGO_BIN_EXE_seatwise-console");
    let home = tempfile::tempdir().unwrap();
    let (data, config) = (home.path().join("data"), home.path().join("config"));
    let _turn = console_turn(&data).await;
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&config).unwrap();
    let (_xvfb, display) = start_xvfb();
    let notes = notifications::start().await;

    // A Redis with a password and an Ably stand-in with a key: the two secrets to protect.
    // The password has '/' and '?' in it, which a URL must percent-encode: typed into the password field as is.
    let redis_pass = format!("e2e/redis?{:016x}", rand_u64());
    let ably_secret = format!("e2e-ably-{:016x}", rand_u64());
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let admin = Redis::connect(&ConnectOptions::new(Target::Url(server.url()))).await.unwrap();
    admin.query::<String>(redis::cmd("CONFIG").arg("SET").arg("requirepass").arg(&redis_pass)).await.unwrap();
    let ably =
        StandIn::start(Config { keys: vec![("e2eapp.e2ekey".into(), ably_secret.clone())], ..Config::default() }).await;
    let redis_pass_encoded = redis_pass.replace('/', "%2F").replace('?', "%3F");
    let redis_url = format!("redis://:{redis_pass_encoded}@127.0.0.1:{}", server.port());
    let ably_key = format!("e2eapp.e2ekey:{ably_secret}");

    let (driver, c) = open_console(app, &display, &data, &config).await;

    // 1. Setup: create a profile and save the credentials.
    type_into(&c, "#pf-name", "production").await;
    type_into(&c, "#pf-host", "127.0.0.1").await;
    type_into(&c, "#pf-port", &server.port().to_string()).await;
    type_into(&c, "#pf-password", &redis_pass).await;
    type_into(&c, "#pf-ably", &ably_key).await;
    click(&c, "#pf-advanced summary").await;
    type_into(&c, "#pf-ably-endpoint", &ably.url()).await;
    click(&c, "#profile-save").await;
    wait_text(&c, "#profile-result", 10, |t| t.starts_with("Saved production")).await;
    screenshot(&c, "setup.png").await;
    axe_check(&c, "setup").await;
    // The secrets are in the keyring...
    let found =
        Command::new(tool("secret-tool")).args(["search", "--all", "service", "seatwise-console"]).output().unwrap();
    let listing = String::from_utf8_lossy(&found.stdout).to_string() + &String::from_utf8_lossy(&found.stderr);
    // (The password field's text is kept in the URL, percent-encoded.)
    assert!(
        listing.contains(&redis_pass_encoded) && listing.contains(&ably_secret),
        "keyring holds both secrets: {listing}"
    );
    // ...and nowhere else: not in the page, not in any file under the app's data and config dirs.
    let page = c.source().await.unwrap();
    for secret in [&redis_pass, &redis_pass_encoded, &ably_secret] {
        assert!(!page.contains(secret.as_str()), "a secret is in the page after saving");
    }
    for secret in [&redis_pass, &redis_pass_encoded, &ably_secret] {
        let hits = files_containing(home.path(), secret);
        assert!(hits.is_empty(), "secret written to {hits:?}");
    }
    assert!(text_of(&c, "#profiles").await.contains("redis://127.0.0.1"), "a masked hint is shown");

    // 2. Test connection, then connect.
    click(&c, "#profiles li button:nth-child(2)").await;
    wait_text(&c, "#profiles li .result", 15, |t| {
        t.contains("Redis answered PING") && t.contains("Ably issued a token")
    })
    .await;
    click(&c, "#profiles li button.primary").await;
    wait_text(&c, "#conn", 15, |t| t.starts_with("production")).await;

    // 3a. The show editor is a form: a wrong field is marked in words and nothing is saved; a right one saves.
    click(&c, "#nav-shows").await;
    click(&c, "#show-new").await;
    set_value(&c, "#sf-id", "form-show").await;
    set_value(&c, "#sf-name", "").await;
    set_value(&c, "#sf-venue", "Studio").await;
    set_value(&c, "#sf-schedules [data-field='capacity']", "0").await;
    click(&c, "#show-save").await;
    wait_text(&c, "#sf-name-err", 5, |t| t.contains("Give the show a name")).await;
    let cap = text_of(&c, "#sf-schedules [data-err='capacity']").await;
    assert!(cap.contains("1 to 100 000"), "{cap}");
    assert!(text_of(&c, "#show-result").await.contains("Not saved"));
    screenshot(&c, "show-form.png").await;
    axe_check(&c, "show form with errors").await;
    set_value(&c, "#sf-name", "Form Show").await;
    set_value(&c, "#sf-schedules [data-field='capacity']", "40").await;
    set_value(&c, "#sf-schedules [data-field='rows']", "A-F").await;
    set_value(&c, "#sf-schedules [data-field='seatsPerRow']", "10").await;
    // The waiting page's look: an unreadable accent is refused by the engine, with the reason.
    click(&c, "#sf-theme-box summary").await;
    set_value(&c, "#sf-theme-name", "Form Theatre").await;
    set_value(&c, "#sf-theme-accent", "#ffcc00").await;
    click(&c, "#show-save").await;
    wait_text(&c, "#show-result", 10, |t| t.contains("4.5:1")).await;
    set_value(&c, "#sf-theme-accent", "#7a1f3d").await;
    click(&c, "#show-save").await;
    wait_text(&c, "#show-result", 10, |t| t.contains("Saved Form Show (1 performance)")).await;
    let saved = css(&c, "#show-json").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(saved.contains("\"accent\": \"#7a1f3d\"") && saved.contains("Form Theatre"), "{saved}");
    assert!(saved.contains("\"graceSeconds\": 600"), "the grace window's default is written: {saved}");
    wait_text(&c, "#shows-table", 10, |t| t.contains("Form Show")).await;

    // 3. Import a show and open it.
    let shows = r#"{"shows":[{"id":"e2e-gala","name":"E2E Gala","venue":"Hall","schedules":[
        {"id":"fri","startsAt":"2026-06-05T19:30","timeZone":"Europe/London","capacity":2,"sessionSeconds":60,"abandonSeconds":30},
        {"id":"sat","startsAt":"2026-06-06T19:30","timeZone":"Europe/London","capacity":2,"sessionSeconds":60,"abandonSeconds":30}]}]}"#;
    click(&c, "#nav-shows").await;
    set_value(&c, "#import-text", shows).await;
    click(&c, "#import-run").await;
    wait_text(&c, "#import-result", 10, |t| t.contains("e2e-gala: created")).await;
    // Opening is confirmed with what it does; Escape cancels, and nothing changed.
    let q = apply_status(&c, "e2e-gala", "OPEN", "#modal-text", "Buyers can join 2 queues now").await;
    assert!(q.contains("told the sale is open"), "{q}");
    css(&c, "#modal-yes").await.send_keys("\u{e00c}").await.unwrap(); // Escape
    wait_hidden(&c, "#modal").await;
    wait_text(&c, "tr[data-show='e2e-gala'] [data-field='status']", 10, |t| t == "Draft").await;
    apply_status(&c, "e2e-gala", "OPEN", "#modal-text", "Buyers can join 2 queues now").await;
    click(&c, "#modal-yes").await;
    let r = wait_text(&c, "#status-result", 10, |t| t.contains("DRAFT → OPEN")).await;
    assert!(r.contains("e2e-gala:fri: queue opened") && r.contains("e2e-gala:sat: queue opened"), "{r}");
    wait_text(&c, "tr[data-show='e2e-gala'] [data-field='status']", 10, |t| t == "Open (Queue Active)").await;
    screenshot(&c, "shows.png").await;
    axe_check(&c, "shows").await;

    // 4. Watch the queues move while buyers join. Simulated buyers are never offered on a real connection
    // (they would book real seats): this test's own buyers join through the engine, as a web app's would.
    click(&c, "#nav-monitor").await;
    set_value(&c, "#refresh-seconds", "2").await;
    wait_text(&c, "#last-update", 10, |t| t != "never").await;
    assert!(!css(&c, "#sim-toggle").await.is_displayed().await.unwrap(), "no simulated buyers on production");
    let buyers = Engine::new(Redis::connect(&ConnectOptions::new(Target::Url(redis_url.clone()))).await.unwrap());
    let crowd = tokio::spawn(async move {
        let fri = Scope::parse("e2e-gala:fri").unwrap();
        let mut waiting = Vec::new();
        let mut booked = 0;
        for i in 0..60 {
            if let Ok(t) = buyers.join(&fri, &BuyerId::new(&format!("e2e-buyer-{i}")).unwrap()).await {
                waiting.push(seatwise_engine::Ticket::parse(&t.ticket).unwrap());
            }
            // Every 2 s a buyer whose turn came books a seat, which frees the session for the next one (people
            // arrive faster than they book: a queue builds up).
            let mut still = Vec::new();
            let mut may_book = i % 5 == 4;
            for t in waiting.drain(..) {
                match buyers.status(&fri, &t).await.map(|s| s.state) {
                    Ok(seatwise_engine::TicketState::Admitted) if !may_book => still.push(t),
                    Ok(seatwise_engine::TicketState::Admitted) => {
                        may_book = false;
                        booked += 1;
                        let seat = seatwise_engine::SeatId::new(&format!("A{booked}")).unwrap();
                        let _ = buyers.hold(&fri, &t, &[seat]).await;
                        let _ = buyers.complete(&fri, &t).await;
                    }
                    Ok(seatwise_engine::TicketState::Waiting) => still.push(t),
                    _ => {}
                }
            }
            waiting = still;
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    });
    let cell = "tr[data-scope='e2e-gala:fri'] [data-field='admitted']";
    let first: u64 = wait_text(&c, cell, 40, |t| t.parse::<u64>().is_ok_and(|n| n > 0)).await.parse().unwrap();
    // A refresh touches only what changed: the quiet queue's row is the same node across refreshes (a
    // rebuilt one would answer "stale element"), while the busy queue's numbers move.
    let quiet = css(&c, "tr[data-scope='e2e-gala:sat']").await;
    let quiet_text = quiet.text().await.unwrap();
    let seen = text_of(&c, "#last-update").await;
    wait_text(&c, "#last-update", 10, |t| t != seen).await;
    let seen = text_of(&c, "#last-update").await;
    wait_text(&c, "#last-update", 10, |t| t != seen).await;
    assert_eq!(quiet.text().await.expect("the unchanged row was kept, not rebuilt"), quiet_text);
    // The numbers move from one refresh to the next while buyers keep coming.
    wait_text(&c, cell, 60, |t| t.parse::<u64>().is_ok_and(|n| n > first)).await;
    wait_text(&c, "tr[data-scope='e2e-gala:fri'] [data-field='queueSize']", 60, |t| {
        t.parse::<u64>().is_ok_and(|n| n > 0)
    })
    .await;
    wait_text(&c, "#last-update", 5, |t| t != "never").await;
    wait_text(&c, "#worker", 20, |t| t.contains("Notifications: sending") || t.contains("Notifications: ready")).await;
    screenshot(&c, "monitor.png").await;
    axe_check(&c, "monitor").await;
    // The production band is across the window; dark mode on request (and back).
    assert_eq!(text_of(&c, "#env-band").await, "PRODUCTION");
    click(&c, "#theme-toggle").await;
    wait_text(&c, "#theme-toggle", 5, |t| t == "Light mode").await;
    screenshot(&c, "monitor-dark.png").await;
    axe_check(&c, "monitor, dark").await;
    click(&c, "#theme-toggle").await;
    wait_text(&c, "#theme-toggle", 5, |t| t == "Dark mode").await;
    // The queue's charts, from the history the console's worker samples into Redis every 10 s.
    click(&c, "button[data-chart='e2e-gala:fri']").await;
    wait_text(&c, "#detail-title", 10, |t| t == "E2E Gala · fri").await;
    let t = Instant::now();
    loop {
        let note = text_of(&c, "#detail-note").await;
        assert!(!note.contains("could not"), "{note}");
        let Ok(chart) = c.find(Locator::Css("#chart-queue .uplot")).await else {
            assert!(t.elapsed() < Duration::from_secs(30), "no chart within 30 s: {note}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        // (The charts are redrawn on every refresh: a stale node just means "look again".)
        let n: u64 = chart.attr("data-samples").await.ok().flatten().and_then(|v| v.parse().ok()).unwrap_or(0);
        if n >= 1 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no history sample within 30 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    screenshot(&c, "detail.png").await;
    axe_check(&c, "queue charts").await;
    // Keyboard: "?" lists the shortcuts, Escape closes the list, "3" goes back to the live queues.
    css(&c, "#detail-back").await.send_keys("?").await.unwrap();
    wait_text(&c, "#help-list", 5, |t| t.contains("Refresh now")).await;
    screenshot(&c, "shortcuts.png").await;
    axe_check(&c, "keyboard shortcuts").await;
    css(&c, "#help-close").await.send_keys("\u{e00c}").await.unwrap();
    wait_hidden(&c, "#help").await;
    css(&c, "#detail-back").await.send_keys("3").await.unwrap();
    let t = Instant::now();
    while !css(&c, "#view-monitor").await.is_displayed().await.unwrap() {
        assert!(t.elapsed() < Duration::from_secs(5), "3 shows the live queues");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 5. Pause one queue.
    click(&c, "tr[data-scope='e2e-gala:fri'] button[data-action='pause']").await;
    wait_text(&c, "tr[data-scope='e2e-gala:fri'] [data-field='state']", 10, |t| t == "paused").await;
    crowd.abort();

    // 5b. Someone else (another console, the CLI) pauses a queue: with the window in the background the
    // console raises an OS notification (to the stand-in notification server on the test's D-Bus); the
    // pause made here above raised none.
    to_background(&display);
    let elsewhere = Engine::new(Redis::connect(&ConnectOptions::new(Target::Url(redis_url.clone()))).await.unwrap());
    elsewhere
        .perform(
            &seatwise_engine::Actor::new("someone", "elsewhere"),
            &seatwise_engine::Scope::parse("e2e-gala:sat").unwrap(),
            &seatwise_engine::StaffAction::Pause,
        )
        .await
        .unwrap();
    let t = Instant::now();
    while !notes.got().iter().any(|(_, body)| body.contains("E2E Gala · sat was paused by someone else")) {
        assert!(t.elapsed() < Duration::from_secs(20), "no OS notification; got {:?}", notes.got());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!notes.got().iter().any(|(_, body)| body.contains("fri")), "{:?}", notes.got());

    // 6. Close the show, with a confirmation that says how many buyers will be told.
    click(&c, "#nav-shows").await;
    let question = apply_status(&c, "e2e-gala", "CLOSED", "#modal-text", "will be told").await;
    assert!(question.contains("waiting or choosing seats"), "{question}");
    // A production profile: the show id must be typed before the close can be confirmed.
    assert!(question.contains("type the show id (e2e-gala)"), "{question}");
    assert!(!css(&c, "#modal-yes").await.is_enabled().await.unwrap(), "confirm is off until the id is typed");
    type_into(&c, "#modal-input", "e2e-gala").await;
    screenshot(&c, "confirm-close.png").await;
    axe_check(&c, "close dialog").await;
    click(&c, "#modal-yes").await;
    let r = wait_text(&c, "#status-result", 10, |t| t.contains("OPEN → CLOSED")).await;
    assert!(r.contains("e2e-gala:fri: queue closed;") && r.contains("buyers will be told"), "{r}");

    // 7. The audit log shows the change, with who made it.
    click(&c, "#nav-audit").await;
    let log = wait_text(&c, "#audit-table tbody", 10, |t| t.contains("OPEN → CLOSED")).await;
    axe_check(&c, "audit log").await;
    assert!(log.contains("pause e2e-gala:fri"), "{log}");

    // The console's worker told the buyers through Ably (the stand-in).
    let t = Instant::now();
    while !ably.messages("seatwise:queue:e2e-gala:fri").iter().any(|m| m.name == "queue.closed") {
        assert!(t.elapsed() < Duration::from_secs(20), "queue.closed never reached Ably");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // 8. Once more over Upstash REST: a profile of that kind, its token in the keyring only.
    let rest_token = format!("e2e-rest-{:016x}", rand_u64());
    let rest_redis = RedisServer::start(&ServerOptions::default()).unwrap();
    let rest = seatwise_upstash_standin::UpstashStandIn::start(&rest_redis.url(), &rest_token).await;
    click(&c, "#nav-setup").await;
    click(&c, "#profile-new").await;
    css(&c, "#pf-kind").await.select_by_value("upstash").await.unwrap();
    type_into(&c, "#pf-name", "upstash").await;
    type_into(&c, "#pf-rest-url", &rest.url()).await;
    type_into(&c, "#pf-rest-token", &rest_token).await;
    click(&c, "#profile-save").await;
    wait_text(&c, "#profile-result", 10, |t| t.starts_with("Saved upstash")).await;
    let found =
        Command::new(tool("secret-tool")).args(["search", "--all", "service", "seatwise-console"]).output().unwrap();
    assert!(String::from_utf8_lossy(&found.stdout).contains(&rest_token), "the REST token is in the keyring");
    assert!(files_containing(home.path(), &rest_token).is_empty(), "the REST token was written to a file");
    assert!(!c.source().await.unwrap().contains(&rest_token), "the REST token is in the page after saving");
    click(&c, "li[data-profile='upstash'] button.primary").await;
    // Switching away from a live connection is confirmed first.
    wait_text(&c, "#modal-title", 10, |t| t.contains("Leave production")).await;
    click(&c, "#modal-yes").await;
    wait_text(&c, "#conn", 15, |t| t.starts_with("upstash")).await;
    click(&c, "#nav-shows").await;
    let rest_show = r#"{"shows":[{"id":"rest-gala","name":"REST Gala","venue":"Hall","schedules":[
        {"id":"d1","startsAt":"2026-07-01T19:30","timeZone":"Europe/Paris","capacity":3}]}]}"#;
    set_value(&c, "#import-text", rest_show).await;
    click(&c, "#import-run").await;
    wait_text(&c, "#import-result", 10, |t| t.contains("rest-gala: created")).await;
    apply_status(&c, "rest-gala", "OPEN", "#modal-text", "Buyers can join 1 queue now").await;
    click(&c, "#modal-yes").await;
    let r = wait_text(&c, "#status-result", 10, |t| t.contains("DRAFT → OPEN")).await;
    assert!(r.contains("rest-gala:d1: queue opened"), "{r}");
    click(&c, "#nav-monitor").await;
    wait_text(&c, "tr[data-scope='rest-gala:d1'] [data-field='state']", 20, |t| t == "open").await;
    assert!(rest.requests() > 0, "the console went through the REST endpoint");

    // 9. A Redis with the venue's own CA that requires a client certificate: the CA as a file path, the
    // certificate and key pasted; the key goes to the keyring only.
    let p = pki::pki();
    let tls_redis = p.server("server", true);
    std::fs::write(p.dir.path().join("client.key"), &p.client_key_pem).unwrap();
    click(&c, "#nav-setup").await;
    click(&c, "#profile-new").await;
    css(&c, "#pf-kind").await.select_by_value("redis").await.unwrap();
    type_into(&c, "#pf-name", "venue-tls").await;
    type_into(&c, "#pf-host", "localhost").await;
    type_into(&c, "#pf-port", &tls_redis.tls_port().unwrap().to_string()).await;
    click(&c, "#pf-tls").await;
    click(&c, "#pf-advanced summary").await;
    set_value(&c, "#pf-tls-ca", &p.dir.path().join("ca.crt").display().to_string()).await;
    set_value(&c, "#pf-tls-cert", &p.client_cert_pem).await;
    set_value(&c, "#pf-tls-key", &p.client_key_pem).await;
    click(&c, "#profile-save").await;
    wait_text(&c, "#profile-result", 10, |t| t.starts_with("Saved venue-tls")).await;
    let key_line = p.client_key_pem.lines().nth(1).unwrap().to_string();
    let found =
        Command::new(tool("secret-tool")).args(["search", "--all", "service", "seatwise-console"]).output().unwrap();
    assert!(String::from_utf8_lossy(&found.stdout).contains(&key_line), "the client key is in the keyring");
    assert!(files_containing(home.path(), &key_line).is_empty(), "the client key was written to a file");
    assert!(!c.source().await.unwrap().contains(&key_line), "the client key is in the page after saving");
    click(&c, "li[data-profile='venue-tls'] button.primary").await;
    wait_text(&c, "#modal-title", 10, |t| t.contains("Leave upstash")).await;
    click(&c, "#modal-yes").await;
    wait_text(&c, "#conn", 15, |t| t.starts_with("venue-tls")).await;

    // 10. A second launch does not open a second console: it hands over to this one and ends.
    let mut second = Command::new(app)
        .env("DISPLAY", &display)
        .env("XDG_DATA_HOME", &data)
        .env("XDG_CONFIG_HOME", &config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(s) = second.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(15) {
            let _ = second.kill();
            panic!("a second console kept running next to the first");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "the second launch ended with {status}");
    assert!(text_of(&c, "#conn").await.starts_with("venue-tls"), "the first console is still there");

    close_console(c, driver, &data).await;
}

/// Ends the WebDriver session and waits until the console (started with `data` as its data dir) has
/// ended: the next test's console would otherwise hand over to this one (single instance) and end.
async fn close_console(c: Client, driver: Proc, data: &Path) {
    let _ = c.close().await;
    drop(driver);
    let t = Instant::now();
    while runs_with(data) {
        assert!(t.elapsed() < Duration::from_secs(15), "the console did not end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The consoles started with `dir` in their environment (a test's own XDG_DATA_HOME) that still run.
fn consoles_of(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|p| {
            std::fs::read(p.path().join("environ")).is_ok_and(|env| {
                env.split(|b| *b == 0).any(|v| v.strip_prefix(b"XDG_DATA_HOME=") == Some(needle.as_bytes()))
            }) && std::fs::read_to_string(p.path().join("comm")).is_ok_and(|c| c.trim() == "seatwise-consol")
        })
        .filter_map(|p| p.file_name().to_str()?.parse().ok())
        .collect()
}

/// The environment of the WebKit web process of the console started with `data`, as `NAME=value`
/// strings (WebKit's and JavaScriptCore's variables only).
fn web_process_environment(data: &Path) -> Vec<String> {
    let console = *consoles_of(data).first().expect("the console runs");
    let web = process_tree(console)
        .into_iter()
        .find(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "WebKitWebProces"))
        .expect("the console's web process");
    let environ = std::fs::read(format!("/proc/{web}/environ")).unwrap();
    environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .filter(|v| v.starts_with("WEBKIT_") || v.starts_with("JSC_"))
        .collect()
}

fn runs_with(dir: &Path) -> bool {
    !consoles_of(dir).is_empty()
}

/// A test's turn to run a console (see ONE_CONSOLE), for consoles whose data dir is `data`. When it ends,
/// even by a failure midway, a console of `data` still running is killed before the next test's turn.
struct ConsoleTurn {
    data: PathBuf,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

async fn console_turn(data: &Path) -> ConsoleTurn {
    ConsoleTurn { data: data.to_path_buf(), _turn: ONE_CONSOLE.lock().await }
}

impl Drop for ConsoleTurn {
    fn drop(&mut self) {
        let t = Instant::now();
        while runs_with(&self.data) && t.elapsed() < Duration::from_secs(5) {
            for pid in consoles_of(&self.data) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reopens_as_it_was_left() {
    let app = env!("CARGO_BIN_EXE_seatwise-console");
    let home = tempfile::tempdir().unwrap();
    let (data, config) = (home.path().join("data"), home.path().join("config"));
    let _turn = console_turn(&data).await;
    let (_xvfb, display) = start_xvfb();
    let server = RedisServer::start(&ServerOptions::default()).unwrap();

    let (driver, c) = open_console(app, &display, &data, &config).await;
    type_into(&c, "#pf-name", "reopen").await;
    type_into(&c, "#pf-host", "127.0.0.1").await;
    type_into(&c, "#pf-port", &server.port().to_string()).await;
    click(&c, "#profile-save").await;
    wait_text(&c, "#profile-result", 10, |t| t.starts_with("Saved")).await;
    click(&c, "#profiles li button.primary").await;
    wait_text(&c, "#conn", 15, |t| t.starts_with("reopen")).await;
    click(&c, "#nav-audit").await;
    wait_shown(&c, "#view-audit", "the audit log").await;
    // The web process runs with the console's lean defaults (lib.rs::lean_webview; docs/PERFORMANCE.md).
    let web = web_process_environment(&data);
    for default in ["WEBKIT_DISABLE_COMPOSITING_MODE=1", "JSC_useJIT=0"] {
        assert!(web.iter().any(|v| v == default), "the web process runs without {default}: {web:?}");
    }
    c.set_window_size(1000, 700).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await; // saved a second after the last resize
    // Closed without a clean exit (the session's end kills the app): what was saved must be enough.
    close_console(c, driver, &data).await;

    let (driver, c) = open_console(app, &display, &data, &config).await;
    wait_text(&c, "#conn", 15, |t| t.starts_with("reopen")).await;
    wait_shown(&c, "#view-audit", "the last view (the audit log) is shown again").await;
    let (w, h) = c.get_window_size().await.unwrap();
    assert!(w.abs_diff(1000) <= 40 && h.abs_diff(700) <= 40, "the window reopened at {w}×{h}, not about 1000×700");
    close_console(c, driver, &data).await;
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    h.finish()
}

/// A process and all its descendants.
fn process_tree(root: u32) -> Vec<u32> {
    let mut pids = vec![root];
    let mut i = 0;
    while i < pids.len() {
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", pids[i])).unwrap_or_default();
        pids.extend(children.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        i += 1;
    }
    pids
}

/// CPU (user + system ticks) and memory (PSS, kB) of a process and all its descendants (the app and its
/// WebKit web and network processes), from /proc.
fn tree_usage(root: u32) -> (u64, u64) {
    let (mut ticks, mut rss_kb) = (0, 0);
    for p in process_tree(root) {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let f: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        ticks += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        // PSS: each shared page counted once across the processes (RSS would count the WebKit libraries
        // the app and its web processes share several times).
        let rollup = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default();
        rss_kb += rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        if std::env::var_os("SEATWISE_MEASURE_VERBOSE").is_some() {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            eprintln!("  {p} {}: ticks {}", comm.trim(), f.get(11).unwrap_or(&"?"));
        }
    }
    (ticks, rss_kb)
}

/// Not a test: a measurement (docs/PERFORMANCE.md). The console's idle cost with 100 open schedules
/// refreshing every 10 s, for SEATWISE_MEASURE_SECS (default 300) with the monitor shown, then as long
/// with a queue's charts open; and the time from launch to the first monitor table. Run with:
/// `scripts/test.sh`'s environment and `cargo test -p seatwise-console --test e2e -- --ignored --nocapture`
/// (SEATWISE_APP=target/release/seatwise-console to measure the release build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement that takes minutes: run explicitly"]
async fn measure_the_console_idle() {
    let secs: u64 = std::env::var("SEATWISE_MEASURE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    // SEATWISE_APP measures another build of the console (the release one, or an installed package).
    let app = std::env::var("SEATWISE_APP").unwrap_or_else(|_| env!("CARGO_BIN_EXE_seatwise-console").into());
    let app = app.as_str();
    let home = tempfile::tempdir().unwrap();
    let (data, config) = (home.path().join("data"), home.path().join("config"));
    let _turn = console_turn(&data).await;
    let (_xvfb, display) = start_xvfb();
    let server = RedisServer::start(&ServerOptions::default()).unwrap();
    let e = Engine::new(Redis::connect(&ConnectOptions::new(Target::Url(server.url()))).await.unwrap());
    // 10 shows of 10 schedules, open, a few buyers each.
    for s in 0..10 {
        let scheds: Vec<serde_json::Value> = (0..10)
            .map(|d| serde_json::json!({"id": format!("d{d}"), "startsAt": "2026-06-05T19:30", "timeZone": "Europe/London", "capacity": 5}))
            .collect();
        let show = serde_json::json!({"id": format!("m{s}"), "name": format!("Show {s}"), "venue": "Hall", "schedules": scheds});
        e.create_show(&serde_json::from_value(show).unwrap(), &seatwise_engine::Actor::new("bench", "local"))
            .await
            .unwrap();
        e.update_show_status(
            &seatwise_engine::ShowId::new(&format!("m{s}")).unwrap(),
            seatwise_engine::ShowStatus::Open,
            &seatwise_engine::Actor::new("bench", "local"),
            None,
        )
        .await
        .unwrap();
    }
    let launched = Instant::now();
    let (driver, c) = open_console(app, &display, &data, &config).await;
    css(&c, "#pf-name").await;
    let window = launched.elapsed();
    type_into(&c, "#pf-name", "measure").await;
    type_into(&c, "#pf-host", "127.0.0.1").await;
    type_into(&c, "#pf-port", &server.port().to_string()).await;
    click(&c, "#profile-save").await;
    wait_text(&c, "#profile-result", 10, |t| t.starts_with("Saved")).await;
    let connect = Instant::now();
    click(&c, "#profiles li button.primary").await;
    wait_text(&c, "#conn", 15, |t| t.starts_with("measure")).await;
    click(&c, "#nav-monitor").await;
    wait_text(&c, "#monitor-table tbody", 20, |t| t.contains("Show 9")).await;
    let first_table = connect.elapsed();
    set_value(&c, "#refresh-seconds", "10").await;
    // The app process: the child of tauri-driver's WebKitWebDriver that runs our binary.
    let pid: u32 = String::from_utf8(Command::new("pgrep").args(["-n", "-f", app]).output().unwrap().stdout)
        .unwrap()
        .trim()
        .parse()
        .expect("the console's process");
    let hz = 100.0; // USER_HZ on Linux
    let measure = |label: &'static str| async move {
        tokio::time::sleep(Duration::from_secs(10)).await; // settle
        let (t0, _) = tree_usage(pid);
        let mut peak = 0;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_secs(5)).await;
            peak = peak.max(tree_usage(pid).1);
        }
        let (t1, rss) = tree_usage(pid);
        let cpu = (t1 - t0) as f64 / hz / start.elapsed().as_secs_f64() * 100.0;
        println!(
            "{label}: CPU {cpu:.2} % of a core over {secs} s; memory (PSS) now {:.0} MB, peak {:.0} MB (app + webview processes)",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    };
    println!("\n## The console idle, 100 open schedules, refresh every 10 s (this machine, Xvfb)");
    println!("launch to the first window content: {:.2} s", window.as_secs_f64());
    println!("Connect to the first monitor table of 100 queues: {:.2} s", first_table.as_secs_f64());
    measure("monitor shown").await;
    click(&c, "button[data-chart='m0:d0']").await;
    css(&c, "#chart-queue").await;
    measure("a queue's charts open").await;
    close_console(c, driver, &data).await;
}

/// A stand-in desktop notification server (org.freedesktop.Notifications, the interface notify-rust and
/// so Tauri's notification plugin talk to) on the test's private D-Bus session: it records what it is asked
/// to show.
mod notifications {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    type Got = Arc<Mutex<Vec<(String, String)>>>;

    pub struct Server {
        got: Got,
        _conn: zbus::Connection,
    }

    impl Server {
        /// (summary, body) of every notification shown so far.
        pub fn got(&self) -> Vec<(String, String)> {
            self.got.lock().unwrap().clone()
        }
    }

    struct Iface(Got);

    #[zbus::interface(name = "org.freedesktop.Notifications")]
    impl Iface {
        #[allow(clippy::too_many_arguments)]
        fn notify(
            &self,
            _app_name: String,
            _replaces_id: u32,
            _app_icon: String,
            summary: String,
            body: String,
            _actions: Vec<String>,
            _hints: HashMap<String, zbus::zvariant::OwnedValue>,
            _expire_timeout: i32,
        ) -> u32 {
            let mut g = self.0.lock().unwrap();
            g.push((summary, body));
            g.len() as u32
        }

        fn get_capabilities(&self) -> Vec<String> {
            vec!["body".into()]
        }

        fn get_server_information(&self) -> (String, String, String, String) {
            ("seatwise-test".into(), "seatwise".into(), "1".into(), "1.2".into())
        }

        fn close_notification(&self, _id: u32) {}
    }

    pub async fn start() -> Server {
        let got: Got = Default::default();
        let conn = zbus::connection::Builder::session()
            .unwrap()
            .name("org.freedesktop.Notifications")
            .unwrap()
            .serve_at("/org/freedesktop/Notifications", Iface(got.clone()))
            .unwrap()
            .build()
            .await
            .expect("a notification server on the test's D-Bus session");
        Server { got, _conn: conn }
    }
}
