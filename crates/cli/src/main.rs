//! `seatwise`: every queue-engine operation from the command line, the load simulator, a terminal monitor,
//! and `demo`, the embedded default (a local redis-server with demo shows, buyers and the monitor).
//!
//! Exit codes: 0 done; 1 other failure; 2 invalid input or usage; 3 conflict or illegal transition;
//! 4 not found (show, queue, ticket); 5 Redis unreachable, timed out, or refused the credentials.

mod args;
mod monitor;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use seatwise_ably::AblyRest;
use seatwise_engine::ErrorCode;
use seatwise_engine::connect::{AblyOptions, check_ably};
use seatwise_engine::notify::{DrainProgress, Notifier, Worker};
use seatwise_engine::sandbox::{Sandbox, simulate_live};
use seatwise_engine::shows::parse_shows_file;
use seatwise_engine::sim::SimConfig;
use seatwise_engine::{
    Actor, BuyerId, ConnectOptions, Engine, Error, JoinProof, Redis, Scope, SeatId, ShowId, ShowStatus, StaffAction,
    Target, Ticket,
};

use args::{BuyerCmd, Cli, Cmd, ConnArgs, QueueCmd, ShowsCmd, SimArgs};

/// A failure with its exit code (from its [`ErrorCode`]: README, "Exit codes").
pub(crate) struct Fail(u8, pub(crate) String);

impl Fail {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Fail {
        Fail(code.exit_code(), message.into())
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::new(e.code(), e.to_string())
    }
}

pub(crate) type Out = Result<(), Fail>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("seatwise: {msg}");
            ExitCode::from(code)
        }
    }
}

fn options(c: &ConnArgs, target: Target) -> Result<ConnectOptions, Fail> {
    let mut o = ConnectOptions::new(target);
    o.connect_timeout = Duration::from_millis(c.connect_timeout_ms);
    o.response_timeout = Duration::from_millis(c.timeout_ms);
    o.watch_only = c.watch_only;
    let read = |flag: &str, path: &Option<std::path::PathBuf>| -> Result<Option<Vec<u8>>, Fail> {
        path.as_ref()
            .map(|p| {
                std::fs::read(p)
                    .map_err(|e| Fail::new(ErrorCode::File, format!("{flag}: cannot read {}: {e}", p.display())))
            })
            .transpose()
    };
    o.tls.ca_pem = read("--tls-ca", &c.tls_ca)?;
    o.tls.client_cert_pem = read("--tls-cert", &c.tls_cert)?;
    o.tls.client_key_pem = read("--tls-key", &c.tls_key)?;
    Ok(o)
}

async fn connect(c: &ConnArgs) -> Result<Engine, Fail> {
    let chosen =
        usize::from(c.redis_url.is_some()) + usize::from(c.cluster.is_some()) + usize::from(c.upstash_url.is_some());
    if chosen > 1 {
        return Err(Fail::new(ErrorCode::Invalid, "give one of --redis-url, --cluster or --upstash-url, not several"));
    }
    warn_if_password_on_command_line(c);
    let target = if let Some(url) = &c.redis_url {
        Target::Url(url.clone())
    } else if let Some(list) = &c.cluster {
        Target::Cluster(seatwise_engine::redis_conn::parse_seed_list(list))
    } else if let Some(url) = &c.upstash_url {
        let token = std::env::var("SEATWISE_UPSTASH_TOKEN").map_err(|_| {
            Fail::new(
                ErrorCode::Invalid,
                "--upstash-url needs the REST token in SEATWISE_UPSTASH_TOKEN (never on the command line)",
            )
        })?;
        Target::Rest { url: url.clone(), token }
    } else {
        return Err(Fail::new(
            ErrorCode::Invalid,
            "no Redis configured: pass --redis-url (or set SEATWISE_REDIS_URL), --cluster for a Redis Cluster, or --upstash-url (SEATWISE_UPSTASH_URL, with SEATWISE_UPSTASH_TOKEN) for Upstash over REST; `seatwise demo` runs a local sandbox",
        ));
    };
    Ok(Engine::new(Redis::connect(&options(c, target)?).await?))
}

/// A password given with --redis-url or --cluster on the command line is visible to every user of the
/// machine (`ps`) and kept in shell history: say so, and point to the environment variable.
fn warn_if_password_on_command_line(c: &ConnArgs) {
    let typed = |flag: &str| std::env::args().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    // Credentials in a Redis URL stand before an '@'.
    let has_password = |text: &str| text.contains('@');
    for (flag, var, value) in [
        ("--redis-url", "SEATWISE_REDIS_URL", c.redis_url.as_deref()),
        ("--cluster", "SEATWISE_REDIS_CLUSTER", c.cluster.as_deref()),
    ] {
        if let Some(v) = value
            && typed(flag)
            && has_password(v)
        {
            eprintln!(
                "seatwise: warning: the credentials given with {flag} are visible to other users of this machine (ps) and stay in your shell history; set {var} instead"
            );
        }
    }
}

fn no_ably() -> Fail {
    Fail::new(ErrorCode::Invalid, "Ably is not configured: set SEATWISE_ABLY_KEY to the API key (appId.keyId:secret)")
}

/// The Ably client from SEATWISE_ABLY_KEY (None when it is not set).
fn ably_client(c: &ConnArgs) -> Result<Option<Arc<AblyRest>>, Fail> {
    let Ok(key) = std::env::var("SEATWISE_ABLY_KEY") else { return Ok(None) };
    let mut o = AblyOptions::new(&key, &format!("seatwise-cli/{}", env!("CARGO_PKG_VERSION")));
    o.endpoint = c.ably_endpoint.clone();
    o.max_rps = c.ably_max_rps;
    if let Some(p) = &c.ably_ca {
        o.ca_pem = Some(
            std::fs::read(p)
                .map_err(|e| Fail::new(ErrorCode::File, format!("--ably-ca: cannot read {}: {e}", p.display())))?,
        );
    }
    Ok(Some(o.build().map_err(|e| {
        Fail::new(ErrorCode::Invalid, format!("SEATWISE_ABLY_KEY / --ably-endpoint / --ably-max-rps: {e}"))
    })?))
}

fn consumer_name() -> String {
    let a = Actor::current();
    format!("{}-{}", a.host, std::process::id())
}

/// Tells the buyers of just-closed queues, with a progress bar.
async fn tell_closed(engine: &Engine, ably: Arc<AblyRest>, scopes: &[Scope]) -> Out {
    let n = Notifier::new(engine.clone(), ably, &consumer_name());
    let bar = |p: DrainProgress| {
        let width = 40;
        let done = (p.told * width as u64).checked_div(p.total).map_or(width, |d| d.min(width as u64) as usize);
        eprint!(
            "\r  telling buyers of {:<30} [{}{}] {}/{}",
            p.show_scope_id,
            "#".repeat(done),
            " ".repeat(width - done),
            p.told,
            p.total
        );
    };
    // Keeps trying for a bounded time while Ably fails, then hands the queues over to the workers.
    let r = n.deliver_until_idle(Some(scopes), Duration::from_secs(30), &bar).await?;
    eprintln!();
    if !r.held_elsewhere.is_empty() {
        eprintln!(
            "  a running worker is telling the buyers of {} queue(s); follow it in `seatwise monitor`",
            r.held_elsewhere.len()
        );
    }
    if r.failed > 0 || r.to_tell > 0 || !r.errors.is_empty() {
        return Err(Fail::new(
            ErrorCode::Incomplete,
            format!(
                "{} buyer(s) could not be told yet ({}); they stay recorded and are told once Ably answers, by a running `seatwise worker` or the console",
                r.to_tell,
                r.errors.first().cloned().unwrap_or_else(|| "Ably did not accept every notice".into())
            ),
        ));
    }
    Ok(())
}

async fn worker(engine: &Engine, conn: &ConnArgs, once: bool, idle_ms: u64) -> Out {
    let ably = ably_client(conn)?;
    if once {
        let n = Notifier::new(engine.clone(), ably.ok_or_else(no_ably)?, &consumer_name());
        let total = n.deliver_until_idle(None, Duration::from_secs(10), &|_| {}).await?;
        print_json(&total);
        return if total.failed == 0 {
            Ok(())
        } else {
            Err(Fail::new(ErrorCode::Incomplete, "some events could not be delivered; they stay in the outbox"))
        };
    }
    let w = Worker::start(engine.clone(), ably, &consumer_name(), Duration::from_millis(idle_ms.max(10)));
    eprintln!("worker {} running; Ctrl-C to stop", consumer_name());
    report_every_5s(None, || {
        let r = w.report();
        format!(
            "{}: delivered {} failed {} cycles {}{}",
            r.state,
            r.delivered,
            r.failed,
            r.cycles,
            r.last_error.map(|e| format!(" — last error: {e}")).unwrap_or_default()
        )
    })
    .await;
    print_json(&w.stop().await);
    Ok(())
}

async fn ably_check(conn: &ConnArgs, json: bool) -> Out {
    let ably = ably_client(conn)?.ok_or_else(no_ably)?;
    let c = check_ably(&ably).await?;
    if json {
        print_json(
            &serde_json::json!({"ok": true, "key": c.key, "ablyTime": c.ably_time, "clockSkewMs": c.clock_skew_ms, "tokenExpires": c.token_expires}),
        );
    } else {
        println!("Ably credentials work: key {} issued a token (clock skew {} ms)", c.key, c.clock_skew_ms);
    }
    Ok(())
}

fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

fn read_file(path: &PathBuf) -> Result<String, Fail> {
    std::fs::read_to_string(path).map_err(|e| Fail::new(ErrorCode::File, format!("{}: {e}", path.display())))
}

fn scope(s: &str) -> Result<Scope, Fail> {
    Ok(Scope::parse(s)?)
}

fn ticket(s: &str) -> Result<Ticket, Fail> {
    Ok(Ticket::parse(s)?)
}

fn seats(v: &[String]) -> Result<Vec<SeatId>, Fail> {
    Ok(v.iter().map(|s| SeatId::new(s)).collect::<Result<Vec<_>, _>>()?)
}

async fn run(cli: Cli) -> Out {
    let json = cli.json;
    if let Cmd::Demo { data_dir, duration, interval, rate, on_configured_redis } = cli.cmd {
        return demo(&cli.conn, data_dir, duration, interval, rate, on_configured_redis).await;
    }
    if let Cmd::AblyCheck = cli.cmd {
        return ably_check(&cli.conn, json).await;
    }
    let engine = connect(&cli.conn).await?;
    let actor = Actor::current();
    match cli.cmd {
        Cmd::Shows(c) => shows(&engine, &actor, c, json).await,
        Cmd::Status { show, status, expect_version, no_notify } => {
            let id = ShowId::new(&show)?;
            let to = ShowStatus::parse(&status)?;
            let ably = if no_notify { None } else { ably_client(&cli.conn)? };
            let r = engine.update_show_status(&id, to, &actor, expect_version).await?;
            if json {
                print_json(&r);
            } else {
                println!("{}", r.message);
                for q in &r.queue_results {
                    println!("  {:<40} {}", q.show_scope_id, q.message);
                }
            }
            if let (Some(ably), ShowStatus::Closed | ShowStatus::Cancelled) = (ably, to) {
                let scopes: Vec<Scope> = r.show.scopes().into_iter().map(|(s, _)| s).collect();
                tell_closed(&engine, ably, &scopes).await?;
            }
            if r.success { Ok(()) } else { Err(Fail::new(ErrorCode::Incomplete, "some schedules failed (see above)")) }
        }
        Cmd::Stats { show } => {
            let data = match show {
                Some(s) => vec![engine.get_show_queue_status(&ShowId::new(&s)?).await?],
                None => engine.all_open_queue_status().await?,
            };
            if json {
                print_json(&data)
            } else {
                print!("{}", monitor::table(&data))
            }
            Ok(())
        }
        Cmd::Monitor { interval, once } => {
            monitor::run(&engine, Duration::from_secs(interval.max(1)), once, None).await
        }
        Cmd::Queue(c) => queue(&engine, &actor, c, json).await,
        Cmd::Buyer(c) => buyer(&engine, c, json).await,
        Cmd::Audit { show, limit } => {
            let id = show.as_deref().map(ShowId::new).transpose()?;
            let entries = engine.audit_log(limit, id.as_ref()).await?;
            if json {
                print_json(&entries);
            } else {
                for e in entries {
                    println!("{}  {}@{}  {}", e.at, e.user, e.host, e.summary());
                }
            }
            Ok(())
        }
        Cmd::Simulate(a) => simulate(&engine, a).await,
        Cmd::Worker { once, idle_ms } => worker(&engine, &cli.conn, once, idle_ms).await,
        Cmd::VerifyDraw { scope: s } => {
            let c = engine.verify_draw(&scope(&s)?).await?;
            if json {
                print_json(&c);
            } else {
                println!("draw of {}: OK", c.scope);
                println!("  commitment  {} (published when the pre-queue opened)", c.commitment);
                println!("  seed        {} (revealed at the opening; SHA-256 matches)", c.seed);
                println!("  tickets     {} drawn; the queue admits them in the recomputed order", c.tickets);
                println!("  order       SHA-256 {}; first places: {:?}", c.order_digest, c.first);
            }
            Ok(())
        }
        Cmd::TokenRequest { scope: s, ticket: t, buyer: b, ttl_ms, timestamp, nonce } => {
            let ably = ably_client(&cli.conn)?.ok_or_else(no_ably)?;
            let req = engine
                .buyer_token_request(&ably, &scope(&s)?, &ticket(&t)?, &BuyerId::new(&b)?, ttl_ms, timestamp, nonce)
                .await?;
            print_json(&req);
            Ok(())
        }
        Cmd::Serve(a) => serve::run(engine, ably_client(&cli.conn)?, a).await,
        Cmd::AblyCheck => unreachable!("handled above"),
        Cmd::Demo { .. } => unreachable!("handled above"),
    }
}

async fn shows(engine: &Engine, actor: &Actor, c: ShowsCmd, json: bool) -> Out {
    match c {
        ShowsCmd::List => {
            let list = engine.list_shows().await?;
            if json {
                print_json(&list);
            } else {
                println!("{:<24} {:<10} {:>4} {:>9}  NAME", "ID", "STATUS", "VER", "SCHEDULES");
                let now = chrono::Utc::now().timestamp_millis();
                for s in list {
                    let opening = seatwise_engine::opening::next_opening(&s, now)
                        .map(|(what, at)| format!(" — {what} {}", seatwise_engine::opening::countdown(at, now)))
                        .unwrap_or_default();
                    println!(
                        "{:<24} {:<10} {:>4} {:>9}  {} ({}){opening}",
                        s.id,
                        s.status,
                        s.version,
                        s.schedules.len(),
                        s.name,
                        s.venue
                    );
                }
            }
        }
        ShowsCmd::Show { id } => print_json(&engine.get_show(&ShowId::new(&id)?).await?),
        ShowsCmd::Create { file } => {
            let shows = parse_shows_file(&file.display().to_string(), &read_file(&file)?)?;
            for s in shows {
                let s = engine.create_show(&s, actor).await?;
                println!("created {} (version {}, {})", s.id, s.version, s.status);
            }
        }
        ShowsCmd::Import { file } => {
            let shows = parse_shows_file(&file.display().to_string(), &read_file(&file)?)?;
            let out = engine.import_shows(&shows, actor).await?;
            if json {
                print_json(&out);
            } else {
                for o in out {
                    println!("{:<24} {}", o.show, o.action);
                }
            }
        }
        ShowsCmd::Export { file } => {
            let text = engine.export_shows().await?;
            match file {
                Some(p) => {
                    std::fs::write(&p, text + "\n")
                        .map_err(|e| Fail::new(ErrorCode::File, format!("{}: {e}", p.display())))?;
                    eprintln!("wrote {}", p.display());
                }
                None => println!("{text}"),
            }
        }
    }
    Ok(())
}

async fn queue(engine: &Engine, actor: &Actor, c: QueueCmd, json: bool) -> Out {
    let (s, action) = match c {
        QueueCmd::Pause { scope } => (scope, StaffAction::Pause),
        QueueCmd::Resume { scope } => (scope, StaffAction::Resume),
        QueueCmd::Admit { scope, n } => (scope, StaffAction::Admit { n }),
        QueueCmd::Capacity { scope, capacity } => (scope, StaffAction::Capacity { capacity }),
        QueueCmd::Announce { scope, message } => (scope, StaffAction::Announce { message }),
        QueueCmd::Remove { scope, ticket: t } => (scope, StaffAction::Remove { ticket: ticket(&t)? }),
        QueueCmd::Challenge { scope, bits } => (scope, StaffAction::Challenge { bits }),
        QueueCmd::Outflow { scope, per_minute } => (scope, StaffAction::Outflow { per_minute }),
    };
    let out = engine.perform(actor, &scope(&s)?, &action).await?;
    if json {
        print_json(&out)
    } else {
        println!("{}", out.message)
    }
    Ok(())
}

async fn buyer(engine: &Engine, c: BuyerCmd, json: bool) -> Out {
    let show_status = |t: seatwise_engine::TicketStatus| {
        if json {
            print_json(&t);
        } else {
            let extra = match (t.state.as_str(), t.expires_at_ms) {
                ("waiting", _) => {
                    format!(" rank {} eta {}s{}", t.rank, t.eta_ms / 1000, if t.paused { " (paused)" } else { "" })
                }
                ("admitted", Some(x)) => format!(" session ends at {x} ms"),
                _ => String::new(),
            };
            println!("{} {}{extra}", t.ticket, t.state.as_str());
        }
    };
    match c {
        BuyerCmd::Join { scope: s, buyer: b, ticket: t, trusted } => {
            let presented = t.as_deref().map(ticket).transpose()?;
            let proof = match (&presented, trusted) {
                (Some(t), _) => JoinProof::Ticket(t),
                (None, true) => JoinProof::Trusted,
                (None, false) => JoinProof::None,
            };
            show_status(engine.join_with_proof(&scope(&s)?, &BuyerId::new(&b)?, proof).await?)
        }
        BuyerCmd::Status { scope: s, ticket: t } => show_status(engine.status(&scope(&s)?, &ticket(&t)?).await?),
        BuyerCmd::Leave { scope: s, ticket: t } => {
            let prev = engine.leave(&scope(&s)?, &ticket(&t)?).await?;
            println!("left (the ticket was {})", prev.as_str());
        }
        BuyerCmd::Hold { scope: s, ticket: t, seats: v } => {
            let h = engine.hold(&scope(&s)?, &ticket(&t)?, &seats(&v)?).await?;
            if json { print_json(&h) } else { println!("holding {}", h.seats.join(" ")) }
        }
        BuyerCmd::Release { scope: s, ticket: t, seats: v } => {
            let left = engine.release(&scope(&s)?, &ticket(&t)?, &seats(&v)?).await?;
            println!("still holding: {}", if left.is_empty() { "nothing".into() } else { left.join(" ") });
        }
        BuyerCmd::Complete { scope: s, ticket: t } => {
            let sold = engine.complete(&scope(&s)?, &ticket(&t)?).await?;
            println!("booked {}", sold.join(" "));
        }
    }
    Ok(())
}

async fn sim_scopes(engine: &Engine, only: &[String]) -> Result<Vec<Scope>, Fail> {
    let only = only.iter().map(|s| ShowId::new(s)).collect::<Result<Vec<_>, _>>()?;
    // Simulated buyers book seats: they only ever use demo shows.
    let scopes = engine.demo_scopes(&only).await?;
    if scopes.is_empty() {
        return Err(Fail::new(
            ErrorCode::NotFound,
            "no open demo show to simulate buyers for: simulated buyers only use the demo shows that `seatwise demo` (or the console's local sandbox) opens",
        ));
    }
    Ok(scopes)
}

fn sim_config(scopes: Vec<Scope>, a: &SimArgs) -> Result<SimConfig, Fail> {
    let c = SimConfig {
        scopes,
        join_rate: a.rate,
        abandon_ratio: a.abandon,
        poll_interval: Duration::from_millis(a.poll_ms.max(50)),
        max_buyers: a.buyers,
        ..Default::default()
    };
    c.validate()?;
    Ok(c)
}

/// Prints `line()` to stderr every 5 seconds until Ctrl-C (or until `duration` has passed).
async fn report_every_5s(duration: Option<Duration>, line: impl Fn() -> String) {
    let deadline = duration.map(|d| tokio::time::Instant::now() + d);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        eprintln!("{}", line());
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return;
        }
    }
}

async fn simulate(engine: &Engine, a: SimArgs) -> Out {
    let scopes = sim_scopes(engine, &a.show).await?;
    let n = scopes.len();
    let sim = simulate_live(engine, sim_config(scopes, &a)?).await?;
    eprintln!("simulating {} buyers/s over {n} queues; Ctrl-C to stop", a.rate);
    report_every_5s(a.duration.map(Duration::from_secs), || {
        let s = sim.snapshot();
        format!(
            "joined {} admitted {} booked {} abandoned {} left {} seat conflicts {} errors {}",
            s.joined, s.admitted, s.completed, s.abandoned, s.left, s.seat_conflicts, s.errors
        )
    })
    .await;
    let s = sim.stop().await;
    print_json(&s);
    Ok(())
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("seatwise").join("sandbox")
}

async fn demo(
    conn: &ConnArgs,
    data_dir: Option<PathBuf>,
    duration: Option<u64>,
    interval: u64,
    rate: f64,
    on_configured_redis: bool,
) -> Out {
    // The demo runs its own local Redis. A configured Redis is used only when asked for explicitly (the
    // demo shows and simulated buyers would go there), and a show there that is not a demo show is never
    // edited.
    let configured = conn.redis_url.is_some() || conn.cluster.is_some() || conn.upstash_url.is_some();
    if configured && !on_configured_redis {
        return Err(Fail::new(
            ErrorCode::Invalid,
            "a Redis is configured (SEATWISE_REDIS_URL, SEATWISE_REDIS_CLUSTER or SEATWISE_UPSTASH_URL): `seatwise demo` starts its own local Redis instead; unset the variable, or pass --on-configured-redis to put the demo shows and simulated buyers in the configured one",
        ));
    }
    let actor = Actor::current();
    let (sandbox, engine) = if configured {
        let engine = connect(conn).await?;
        engine.open_demo_shows(&actor).await?;
        (None, engine)
    } else {
        let dir = data_dir.unwrap_or_else(default_data_dir);
        eprintln!("starting a local redis-server (data in {})", dir.display());
        let s = Sandbox::start(dir, &actor).await?;
        eprintln!("sandbox Redis at {} (protected by a random password, new each run)", s.label());
        let e = s.engine().clone();
        (Some(s), e)
    };
    let sim = simulate_live(&engine, SimConfig::sandbox(&engine, rate).await?).await?;
    let gateway = seatwise_gateway::start_local(&engine)
        .await
        .map_err(|e| Fail::new(ErrorCode::Incomplete, format!("the sandbox's buyer gateway could not start: {e}")))?;
    eprintln!("buyer gateway at {} (API: {}/v1/openapi.json)", gateway.url(), gateway.url());
    let r = monitor::run(&engine, Duration::from_secs(interval.max(1)), false, duration.map(Duration::from_secs)).await;
    gateway.stop().await;
    let snap = sim.stop().await;
    eprintln!(
        "simulated buyers: joined {} admitted {} booked {} abandoned {} left {}",
        snap.joined, snap.admitted, snap.completed, snap.abandoned, snap.left
    );
    if let Some(s) = sandbox {
        s.stop().await;
    }
    r
}
