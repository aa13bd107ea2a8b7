//! The waiting room page in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (both installed by scripts/setup.sh), against a gateway, a real redis-server, the Ably stand-in (SSE)
//! and a real outbox worker. Screenshots of each state go to docs/screenshots/.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use seatwise_ably_standin::{Config as AblyConfig, StandIn};
use seatwise_engine::connect::AblyOptions;
use seatwise_engine::notify::Worker;
use seatwise_engine::{Actor, BuyerId, Engine, JoinProof, SeatId, ShowStatus, StaffAction, Ticket};

use crate::axe::axe_check;
use crate::support::*;
use crate::*;

struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed by scripts/setup.sh (package chromium-driver)");
    Driver(child, port)
}

/// A Chrome DevTools command through chromedriver's `goog/cdp/execute` (fantoccini has no call for it).
#[derive(Debug)]
struct Cdp(serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

/// Freezes or thaws the tab as a phone does when it locks or switches apps (Page Lifecycle: a frozen page
/// runs no script and no timer).
async fn lifecycle(c: &Client, state: &str) {
    c.issue_cmd(Cdp(json!({"cmd": "Page.setWebLifecycleState", "params": {"state": state}}))).await.unwrap();
}

/// A fresh browser (own profile, so its own cookies) at phone size (390 × 844), speaking `lang`.
async fn browser(d: &Driver, lang: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=390,844", format!("--lang={lang}")],
            "prefs": {"intl.accept_languages": lang},
        }),
    );
    let t = Instant::now();
    loop {
        match ClientBuilder::native().capabilities(caps.clone()).connect(&format!("http://127.0.0.1:{}", d.1)).await {
            Ok(c) => {
                // A phone's viewport exactly (a headless window is at least 500 px wide).
                let phone = json!({"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true});
                c.issue_cmd(Cdp(json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": phone}))).await.unwrap();
                return c;
            }
            Err(e) if t.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver session: {e}"),
        }
    }
}

async fn text(c: &Client, sel: &str) -> String {
    match c.find(Locator::Css(sel)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the text of `sel` satisfies `ok`; returns it.
async fn wait_text(c: &Client, sel: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
    let t = Instant::now();
    loop {
        let got = text(c, sel).await;
        if ok(&got) {
            return got;
        }
        assert!(t.elapsed() < Duration::from_secs(secs), "{sel}: waited {secs} s, last text {got:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click(c: &Client, sel: &str) {
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(sel)).await.unwrap().click().await.unwrap();
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::write(dir.join(name), png).unwrap();
}

async fn trusted_join(e: &Engine, who: &str) -> Ticket {
    let s = e.join_with_proof(&scope("s1", "d1"), &BuyerId::new(who).unwrap(), JoinProof::Trusted).await.unwrap();
    Ticket::parse(&s.ticket).unwrap()
}

/// A 1 × 1 PNG: the smallest real logo.
const TINY_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn seats(v: &[&str]) -> Vec<SeatId> {
    v.iter().map(|s| SeatId::new(s).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_waits_is_told_their_turn_live_picks_seats_and_books_in_a_real_browser() {
    let t = start().await;
    let e = &t.engine;
    let sc = scope("s1", "d1");
    let mut sh = show("s1", 1, 2, 120.0, 120.0);
    sh.schedules[0].seat_map = Some(seatwise_engine::SeatMap {
        zones: vec![
            seatwise_engine::shows::PriceZone {
                name: "Stalls".into(),
                price: "£45".into(),
                rows: vec!["A".into(), "B".into()],
            },
            seatwise_engine::shows::PriceZone {
                name: "Circle".into(),
                price: "£30".into(),
                rows: vec!["C".into(), "D".into()],
            },
        ],
        ..Default::default()
    });
    open_show(e, &sh).await;
    let standin = StandIn::start(AblyConfig::default()).await;
    let mut o = AblyOptions::new(&standin.key(), "seatwise-test");
    o.endpoint = Some(standin.url());
    o.max_rps = 0.0;
    let ably = o.build().unwrap();
    let worker = Worker::start(e.clone(), Some(ably.clone()), "page-test", Duration::from_millis(100));
    let g = gateway_with_ably(e, crate::config(), Some(ably)).await;
    let page = format!("{}/q/s1/d1", g.url());
    // Two buyers hold both sessions; one more waits ahead of ours.
    let (a, b) = (trusted_join(e, "early-a").await, trusted_join(e, "early-b").await);
    let w1 = trusted_join(e, "w1").await;

    let d = driver();
    let c = browser(&d, "en-GB").await;
    c.goto(&page).await.unwrap();
    wait_text(&c, "#rank-text", 10, |t| t.contains("number 2")).await;
    assert_eq!(text(&c, "#title").await, "Show s1");
    // en-GB, not en-US: day before month, a 24-hour clock; the performance in the venue's zone.
    let when = text(&c, "#when").await;
    assert_eq!(when, "Monday, 2 March 2026 at 19:30 (Europe/London time)");
    // Nobody admitted by the queue yet: the estimate says it is a first guess, with a clock time.
    let eta = text(&c, "#eta").await;
    assert!(eta.contains("First estimate") && eta.contains("around"), "{eta}");
    // The live stream is open before the turn comes (the page got a token from the gateway).
    let t0 = Instant::now();
    while standin.open_streams() == 0 {
        assert!(t0.elapsed() < Duration::from_secs(5), "the page opened no SSE stream");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    screenshot(&c, "page-waiting.png").await;

    // early-a books A2; w1 is admitted; then w1 leaves and our buyer's turn comes — told over SSE.
    e.hold(&sc, &a, &seats(&["A2"])).await.unwrap();
    e.complete(&sc, &a).await.unwrap();
    wait_text(&c, "#rank-text", 10, |t| t.contains("next")).await;
    let t0 = Instant::now();
    e.leave(&sc, &w1).await.unwrap();
    wait_text(&c, "#turn-title", 5, |t| t.contains("your turn")).await;
    let told = t0.elapsed();
    println!("your turn shown {} ms after the slot was freed", told.as_millis());
    assert!(told < Duration::from_secs(1), "shown after {told:?}: not live");
    assert!(c.title().await.unwrap().contains("your turn"), "the tab title changes too");
    let focused = c.execute("return document.activeElement.id", vec![]).await.unwrap();
    assert_eq!(focused, json!("turn-title"), "focus moves to the news");
    wait_text(&c, "#countdown", 5, |t| t.contains("Time left")).await;
    // A2 was sold: greyed out. early-b takes A3 after the map was drawn: clicking it says so.
    let sold = c.find(Locator::Css("[data-seat='A2']")).await.unwrap();
    assert_eq!(sold.attr("disabled").await.unwrap().as_deref(), Some("true"));
    e.hold(&sc, &b, &seats(&["A3"])).await.unwrap();
    click(&c, "[data-seat='A1']").await;
    wait_text(&c, "#held", 5, |t| t.contains("A1")).await;
    click(&c, "[data-seat='A3']").await;
    wait_text(&c, "#seat-msg", 5, |t| t.contains("A3 was just taken")).await;
    click(&c, "[data-seat='A4']").await;
    wait_text(&c, "#held", 5, |t| t.contains("A1, A4")).await;
    // The legend says what the looks mean, price zones included; a seat says its zone and price.
    let legend = text(&c, "#legend").await;
    assert!(legend.contains("Taken") && legend.contains("Stalls: £45") && legend.contains("Circle: £30"), "{legend}");
    let label = c.find(Locator::Css("[data-seat='C1']")).await.unwrap().attr("aria-label").await.unwrap();
    assert_eq!(label.as_deref(), Some("Seat C1, Circle, £30"));
    // Every seat is at least 44 × 44 px (WCAG 2.5.5) at phone size.
    let smallest = c
        .execute("return Math.min(...[...document.querySelectorAll('.seat')].map((b) => Math.min(b.offsetWidth, b.offsetHeight)))", vec![])
        .await
        .unwrap();
    assert!(smallest.as_f64().unwrap() >= 44.0, "a seat of {smallest} px");
    axe_check(&c, "your turn with price zones").await;
    screenshot(&c, "page-your-turn.png").await;
    click(&c, "#book").await;
    wait_text(&c, "#done-title", 5, |t| t == "Booked!").await;
    let confirmation = text(&c, "#done-text").await;
    assert!(confirmation.contains("A1, A4") && confirmation.contains("SW-"), "{confirmation}");
    axe_check(&c, "booked").await;
    screenshot(&c, "page-booked.png").await;
    // A reload keeps the confirmation: no new join (the queue still holds one ticket per buyer so far),
    // "Join again" only on a click.
    let issued = queue_stats(e, &sc).await.tickets_issued;
    c.refresh().await.unwrap();
    wait_text(&c, "#done-title", 10, |t| t == "Booked!").await;
    assert_eq!(text(&c, "#done-text").await, confirmation, "the same confirmation after a reload");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(queue_stats(e, &sc).await.tickets_issued, issued, "a reload after booking joined again");
    c.close().await.unwrap();

    // Another buyer waits (capacity now 1, held by early-b). Staff pause, announce and close.
    let actor = Actor::new("staff", "box-office");
    e.perform(&actor, &sc, &StaffAction::Capacity { capacity: 1 }).await.unwrap();
    let c = browser(&d, "en-GB").await;
    c.goto(&page).await.unwrap();
    wait_text(&c, "#rank-text", 10, |t| t.contains("next")).await;
    e.perform(&actor, &sc, &StaffAction::Pause).await.unwrap();
    wait_text(&c, "#banner", 10, |t| t.contains("paused")).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // the pause event reached the page's stream
    // The stream drops; the box office announces while the page is disconnected. The page reconnects
    // with Last-Event-ID (and its next status answer carries the announcement too).
    standin.cut_streams();
    e.perform(&actor, &sc, &StaffAction::Announce { message: "Doors open at 7pm".into() }).await.unwrap();
    wait_text(&c, "#notice", 15, |t| t.contains("Doors open at 7pm")).await;
    let t0 = Instant::now();
    while standin.resumed_streams() == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the page did not resume its stream after the last event it had"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    screenshot(&c, "page-announcement.png").await;
    // The announcement and the pause are the queue's state: a reloaded page (a fresh stream carries no past
    // event) still shows both, with since when it is paused.
    c.refresh().await.unwrap();
    wait_text(&c, "#notice", 10, |t| t.contains("Doors open at 7pm")).await;
    wait_text(&c, "#banner", 10, |t| t.contains("paused") && t.contains("since")).await;
    assert!(text(&c, "#eta").await.contains("No estimate"), "no estimate while paused");
    axe_check(&c, "paused, with a message").await;
    e.update_show_status(&sc.show, ShowStatus::Closed, &actor, None).await.unwrap();
    wait_text(&c, "#done-title", 10, |t| t.contains("closed")).await;
    axe_check(&c, "closed").await;
    screenshot(&c, "page-closed.png").await;
    c.close().await.unwrap();
    // A newcomer opening the link of the closed sale is told it is closed, not that it has not started
    // (once the gateway's 1-second cache of the public status has caught up with the close).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let c = browser(&d, "en-GB").await;
    c.goto(&page).await.unwrap();
    wait_text(&c, "#before-title", 10, |t| t == "The queue is closed").await;
    assert!(text(&c, "#before-text").await.contains("closed"));
    c.close().await.unwrap();
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ably_the_page_polls_solves_the_challenge_and_speaks_french() {
    let t = start().await;
    let e = &t.engine;
    let sc = scope("s1", "d1");
    // A theatre's own look: its name, logo, colours and links (checked on save, served by the gateway).
    let mut sh = show("s1", 1, 1, 120.0, 120.0);
    sh.theme = Some(seatwise_engine::shows::Theme {
        venue_name: Some("Théâtre du Globe".into()),
        logo: Some(format!("data:image/png;base64,{TINY_PNG}")),
        accent: Some("#7a1f3d".into()),
        site_url: Some("https://globe.example/".into()),
        help_url: Some("https://globe.example/aide".into()),
        ..Default::default()
    });
    open_show(e, &sh).await;
    let actor = Actor::new("staff", "box-office");
    e.perform(&actor, &sc, &StaffAction::Challenge { bits: 12 }).await.unwrap();
    let g = gateway(e, crate::config()).await;
    let early = trusted_join(e, "early").await;
    let d = driver();
    let c = browser(&d, "fr-FR").await;
    let load = Instant::now();
    c.goto(&format!("{}/q/s1/d1", g.url())).await.unwrap();
    wait_text(&c, "#rank-text", 20, |t| t.contains("prochain")).await;
    println!("joined through a 12-bit challenge in {} ms (page load included)", load.elapsed().as_millis());
    let lang = c.execute("return document.documentElement.lang", vec![]).await.unwrap();
    assert_eq!(lang, json!("fr"));
    // Themed: the venue's name, its logo from this gateway, its accent colour, its links.
    assert_eq!(text(&c, "#venue").await, "Théâtre du Globe");
    let logo = c
        .execute("const i = document.querySelector('#logo'); return [i.src, i.complete && i.naturalWidth];", vec![])
        .await
        .unwrap();
    assert_eq!(logo, json!([format!("{}/v1/shows/s1/logo", g.url()), 1]), "the logo is served by the gateway");
    let accent =
        c.execute("return getComputedStyle(document.querySelector('#leave')).borderTopColor", vec![]).await.unwrap();
    assert_eq!(accent, json!("rgb(122, 31, 61)"));
    assert!(text(&c, "#links").await.contains("Site de Théâtre du Globe"));
    // French formats: the performance's date and the clock in the buyer's locale.
    let when = text(&c, "#when").await;
    assert!(
        when.contains("lundi 2 mars 2026") && when.contains("19:30") && when.contains("heure de Europe/London"),
        "{when}"
    );
    // Plurals by the language's rules (Intl.PluralRules): in French 0 and 1 are singular.
    let forms = c.execute("return [0, 1, 2, 1500].map((n) => plural('minutes', n))", vec![]).await.unwrap();
    assert_eq!(forms, json!(["0 minute", "1 minute", "2 minutes", "1\u{202f}500 minutes"]));
    axe_check(&c, "themed, French").await;
    screenshot(&c, "page-themed-fr.png").await;
    // The page weight: what the first load transferred, and one status poll.
    let bytes = c
        .execute("return performance.getEntries().reduce((n, e) => n + (e.transferSize || 0), 0)", vec![])
        .await
        .unwrap();
    println!("first load and join transferred {bytes} bytes");
    // Waiting near the front (polls every 2 s, no SSE): what ten seconds cost.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let later = c
        .execute("return performance.getEntries().reduce((n, e) => n + (e.transferSize || 0), 0)", vec![])
        .await
        .unwrap();
    println!(
        "waiting near the front by polling: {} bytes per minute",
        (later.as_u64().unwrap() - bytes.as_u64().unwrap()) * 6
    );
    // No Ably: the turn is found by polling (every 2 s near the front).
    e.leave(&sc, &early).await.unwrap();
    wait_text(&c, "#turn-title", 6, |t| t.contains("votre tour")).await;
    click(&c, "[data-seat='B5']").await;
    wait_text(&c, "#held", 5, |t| t.contains("B5")).await;
    click(&c, "#book").await;
    wait_text(&c, "#done-title", 5, |t| t == "Réservé !").await;
    c.close().await.unwrap();
    // The page is served with a strict policy and no third-party script.
    let r = reqwest::get(format!("{}/q/s1/d1", g.url())).await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "no third-party resources");
    let _ = Arc::new(());
}

/// Phones lock, switch apps and drop tabs. A tab frozen three times longer than the presence window keeps
/// its place while someone is ahead; frozen when its turn comes, it misses it and, thawed within the grace
/// window, is back at the front and admitted at the next free slot; thawed after the grace window it is
/// told its turn passed and joins again only by a click. Polling only (no Ably): the hard case. Each state
/// is checked with axe and photographed at phone size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_phone_keeps_its_place_and_claims_a_missed_turn_back() {
    let t = start().await;
    let e = &t.engine;
    let sc = scope("s1", "d1");
    let mut sh = show("s1", 1, 1, 120.0, 1.0); // a 1-second presence window
    sh.schedules[0].grace_seconds = Some(4.0);
    open_show(e, &sh).await;
    let g = gateway(e, crate::config()).await;
    let page = format!("{}/q/s1/d1", g.url());
    let early = trusted_join(e, "early").await; // admitted: the only session
    let front = trusted_join(e, "front").await; // waits ahead of the phone, and stays present
    let d = driver();
    let c = browser(&d, "en-GB").await;
    c.goto(&page).await.unwrap();
    wait_text(&c, "#rank-text", 10, |t| t.contains("number 2")).await;
    axe_check(&c, "waiting").await;
    let behind = trusted_join(e, "behind").await;

    // Frozen for 3 s: past the presence window, while `front` is ahead. The place is kept.
    lifecycle(&c, "frozen").await;
    for _ in 0..6 {
        e.status(&sc, &front).await.unwrap();
        e.status(&sc, &behind).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    lifecycle(&c, "active").await;
    wait_text(&c, "#updated", 5, |_| true).await;
    let s = queue_stats(e, &sc).await;
    assert_eq!((s.queue_size, s.abandoned_total, s.missed_total), (3, 0, 0), "{s:?}");
    wait_text(&c, "#rank-text", 5, |t| t.contains("number 2")).await;

    // Frozen again, and its turn comes: `early` and then `front` leave. The phone is not there: it misses
    // its turn, and `behind` (present) is admitted instead.
    lifecycle(&c, "frozen").await;
    e.leave(&sc, &early).await.unwrap();
    e.status(&sc, &behind).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    e.status(&sc, &behind).await.unwrap();
    e.leave(&sc, &front).await.unwrap();
    assert_eq!(e.status(&sc, &behind).await.unwrap().state, seatwise_engine::TicketState::Admitted);
    assert_eq!(queue_stats(e, &sc).await.missed_now, 1);
    // Thawed within the grace window: the page asks at once and is back at the front.
    lifecycle(&c, "active").await;
    // The buyer opts in to be alerted (permission granted as a buyer's click on the browser's prompt would).
    let origin = g.url();
    c.issue_cmd(Cdp(
        json!({"cmd": "Browser.grantPermissions", "params": {"origin": origin, "permissions": ["notifications"]}}),
    ))
    .await
    .unwrap();
    wait_text(&c, "#banner", 5, |t| t.contains("back at the front")).await;
    wait_text(&c, "#rank-text", 5, |t| t.contains("next")).await;
    axe_check(&c, "back at the front").await;
    click(&c, "#alert").await;
    wait_text(&c, "#alert-on", 5, |t| t.contains("alert you")).await;
    screenshot(&c, "page-missed-back.png").await;
    // What the page shows the system: every notification it makes is recorded (the real one is still made).
    c.execute(
        "window.shown = []; const N = window.Notification; window.Notification = class extends N { constructor(t, o) { super(t, o); window.shown.push([t, o.body]); } }; window.Notification.permission = N.permission; document.hasFocus = () => false;",
        vec![],
    )
    .await
    .unwrap();
    // The next free slot is the phone's: told by a notification too, the tab being in the background.
    e.leave(&sc, &behind).await.unwrap();
    wait_text(&c, "#turn-title", 6, |t| t.contains("your turn")).await;
    let shown = c.execute("return window.shown", vec![]).await.unwrap();
    assert_eq!(shown[0][0], json!("It's your turn!"), "{shown}");
    axe_check(&c, "your turn").await;
    c.close().await.unwrap();

    // Another phone misses its turn and stays away past the grace window: told its turn passed.
    let holder = trusted_join(e, "holder").await; // waits for the session the first phone holds
    let c = browser(&d, "en-GB").await;
    c.goto(&page).await.unwrap();
    wait_text(&c, "#rank-text", 10, |t| t.contains("number 2")).await;
    lifecycle(&c, "frozen").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    e.status(&sc, &holder).await.unwrap();
    // Staff open more sessions while the phone is frozen at the front: it misses its turn, `holder` is let in.
    let before = queue_stats(e, &sc).await;
    assert_eq!(before.active_sessions, 1, "the first phone's session: {before:?}");
    e.perform(&Actor::new("staff", "box-office"), &sc, &StaffAction::Capacity { capacity: 3 }).await.unwrap();
    assert_eq!(queue_stats(e, &sc).await.missed_now, 1, "the frozen phone missed its turn");
    tokio::time::sleep(Duration::from_millis(4500)).await;
    lifecycle(&c, "active").await;
    wait_text(&c, "#done-title", 6, |t| t.contains("turn has passed")).await;
    assert!(c.find(Locator::Css("#again")).await.unwrap().is_displayed().await.unwrap(), "Join again offered");
    axe_check(&c, "turn passed").await;
    screenshot(&c, "page-turn-passed.png").await;
    // Reloading keeps the ending; joining again is a click.
    c.refresh().await.unwrap();
    wait_text(&c, "#done-title", 6, |t| t.contains("turn has passed")).await;
    // Joining again waits (both sessions are taken); leaving says so and offers to join again.
    e.perform(&Actor::new("staff", "box-office"), &sc, &StaffAction::Capacity { capacity: 2 }).await.unwrap();
    click(&c, "#again").await;
    wait_text(&c, "#rank-text", 10, |t| t.contains("next")).await;
    click(&c, "#leave").await;
    c.accept_alert().await.unwrap();
    wait_text(&c, "#done-title", 6, |t| t == "You left the queue.").await;
    assert!(c.find(Locator::Css("#again")).await.unwrap().is_displayed().await.unwrap(), "Join again offered");
    axe_check(&c, "left").await;
    c.close().await.unwrap();
}
