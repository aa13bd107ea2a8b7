//! `seatwise`: every queue-engine operation from the command line, the load simulator, a terminal monitor,
//! and `demo`, the embedded default (a local redis-server with demo shows, buyers and the monitor).
//!
//! Exit codes: 0 done; 1 other failure; 2 invalid input or usage; 3 conflict or illegal transition;
//! 4 not found (show, queue, ticket); 5 Redis unreachable, timed out, or refused the credentials.

mod monitor;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use std::sync::Arc;

use seatwise_ably::{AblyConfig, AblyRest, ApiKey, Endpoint};
use seatwise_engine::local::{RedisServer, ServerOptions};
use seatwise_engine::notify::{CycleReport, DrainProgress, Notifier, Worker};
use seatwise_engine::shows::{ShowStatus, parse_shows_file};
use seatwise_engine::sim::{SimConfig, Simulator};
use seatwise_engine::{Actor, BuyerId, ConnectOptions, Engine, Error, Redis, Scope, SeatId, ShowId, Target, Ticket};

#[derive(Parser)]
#[command(
    name = "seatwise",
    version,
    about = "Seatwise waiting-room queues on Redis: shows, status, buyers, monitoring"
)]
struct Cli {
    #[command(flatten)]
    conn: ConnArgs,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
struct ConnArgs {
    /// Redis URL: redis://[user:password@]host[:port][/db], or rediss:// for TLS. Prefer the environment
    /// variable for URLs with a password, so it stays out of shell history.
    #[arg(long, env = "SEATWISE_REDIS_URL", global = true, hide_env_values = true)]
    redis_url: Option<String>,
    /// Redis Cluster seed nodes, comma-separated redis:// URLs (instead of --redis-url).
    #[arg(long, env = "SEATWISE_REDIS_CLUSTER", global = true, value_delimiter = ',', hide_env_values = true)]
    cluster: Vec<String>,
    /// Upstash REST URL (https://..., as the Upstash console shows it), for a Redis reached over HTTPS only. The token is
    /// read from SEATWISE_UPSTASH_TOKEN.
    #[arg(long, env = "SEATWISE_UPSTASH_URL", global = true)]
    upstash_url: Option<String>,
    /// Connect timeout in milliseconds.
    #[arg(long, default_value_t = 5000, global = true)]
    connect_timeout_ms: u64,
    /// Command timeout in milliseconds.
    #[arg(long, default_value_t = 5000, global = true)]
    timeout_ms: u64,
    /// Ably REST endpoint (default: Ably's production hosts, with fallbacks). The API key itself is read
    /// only from SEATWISE_ABLY_KEY, never from a flag.
    #[arg(long, env = "SEATWISE_ABLY_ENDPOINT", global = true)]
    ably_endpoint: Option<String>,
    /// Ceiling on Ably HTTP requests per second (your account's limit; 50 on the free plan).
    #[arg(long, env = "SEATWISE_ABLY_MAX_RPS", default_value_t = 50.0, global = true)]
    ably_max_rps: f64,
}

#[derive(Subcommand)]
enum Cmd {
    /// Shows: list, show, create, import, export.
    #[command(subcommand)]
    Shows(ShowsCmd),
    /// Change a show's status (DRAFT, UPCOMING, OPEN, ON_GOING, CLOSED, CANCELLED, POSTPONED) and apply it
    /// to every schedule's queue.
    Status {
        show: String,
        status: String,
        /// Fail with a conflict unless the show is still at this version.
        #[arg(long)]
        expect_version: Option<u64>,
        /// On CLOSED / CANCELLED, do not tell the buyers now (a running worker will).
        #[arg(long)]
        no_notify: bool,
    },
    /// Queue figures of one show, or of every show with live queues.
    Stats { show: Option<String> },
    /// A live table of every open queue, refreshed every --interval seconds.
    Monitor {
        #[arg(long, default_value_t = 10)]
        interval: u64,
        /// Print the table once and exit.
        #[arg(long)]
        once: bool,
    },
    /// Staff actions on one queue (scope = <showId>:<schedId>).
    #[command(subcommand)]
    Queue(QueueCmd),
    /// What a buyer's client does (scope = <showId>:<schedId>).
    #[command(subcommand)]
    Buyer(BuyerCmd),
    /// The audit log of show changes and staff actions, newest first.
    Audit {
        #[arg(long)]
        show: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Simulated buyers against the queues of open shows (all, or --show).
    Simulate(SimArgs),
    /// Deliver the outbox to Ably (SEATWISE_ABLY_KEY), sharing the work with any other workers.
    Worker {
        /// Run until nothing is left to send, then print the report and exit.
        #[arg(long)]
        once: bool,
        /// Pause between passes when there is nothing to send, in milliseconds.
        #[arg(long, default_value_t = 250)]
        idle_ms: u64,
    },
    /// Sign an Ably token request for a buyer's live ticket (JSON, for ably-js's authUrl).
    TokenRequest {
        scope: String,
        ticket: String,
        buyer: String,
        /// Token lifetime in ms (at most 2 hours; default 1 hour).
        #[arg(long)]
        ttl_ms: Option<u64>,
        /// Sign with this timestamp (ms) instead of now.
        #[arg(long)]
        timestamp: Option<u64>,
        /// Sign with this nonce (16+ letters and digits) instead of a random one.
        #[arg(long)]
        nonce: Option<String>,
    },
    /// Test the Ably credentials: read Ably's clock and exchange a token request for a token.
    AblyCheck,
    /// The embedded default: a local redis-server, demo shows opened, simulated buyers and the monitor.
    Demo {
        /// Where the local Redis keeps its data (default: the user data dir, seatwise/sandbox).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        #[arg(long, default_value_t = 10)]
        interval: u64,
        #[arg(long, default_value_t = 8.0)]
        rate: f64,
    },
}

#[derive(Subcommand)]
enum ShowsCmd {
    List,
    Show {
        id: String,
    },
    /// Create shows from a shows file (they start as DRAFT or UPCOMING).
    Create {
        file: PathBuf,
    },
    /// Create or update shows from a shows file (statuses are never changed by an import).
    Import {
        file: PathBuf,
    },
    /// Write every show to a shows file (or to standard output).
    Export {
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum QueueCmd {
    Pause {
        scope: String,
    },
    Resume {
        scope: String,
    },
    /// Admit up to N buyers now, even beyond capacity.
    Admit {
        scope: String,
        n: u32,
    },
    /// Set the number of concurrent sessions.
    Capacity {
        scope: String,
        capacity: u32,
    },
    /// Send a message to everyone waiting.
    Announce {
        scope: String,
        message: String,
    },
    /// Remove a ticket (the buyer is told).
    Remove {
        scope: String,
        ticket: String,
    },
}

#[derive(Subcommand)]
enum BuyerCmd {
    Join {
        scope: String,
        buyer: String,
    },
    Status {
        scope: String,
        ticket: String,
    },
    Leave {
        scope: String,
        ticket: String,
    },
    Hold {
        scope: String,
        ticket: String,
        #[arg(required = true)]
        seats: Vec<String>,
    },
    /// Release the named seats, or all when none are named.
    Release {
        scope: String,
        ticket: String,
        seats: Vec<String>,
    },
    Complete {
        scope: String,
        ticket: String,
    },
}

#[derive(Args, Clone)]
struct SimArgs {
    /// Only these shows (default: every show with live queues).
    #[arg(long)]
    show: Vec<String>,
    /// New buyers per second.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Share of buyers who abandon while waiting (0 to 1).
    #[arg(long, default_value_t = 0.1)]
    abandon: f64,
    /// How often waiting buyers poll, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    poll_ms: u64,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    duration: Option<u64>,
    /// Stop creating buyers after this many.
    #[arg(long)]
    buyers: Option<u64>,
}

/// A failure with its exit code.
struct Fail(u8, String);

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let code = match e.code() {
            "invalid" | "file" | "rejected" => 2,
            "conflict" | "illegal_transition" | "exists" | "seats_taken" | "too_many_seats" | "not_held"
            | "no_seats" => 3,
            "not_found" | "no_queue" | "unknown_ticket" | "no_session" | "closed" | "paused" => 4,
            "unreachable" | "auth" | "tls" | "cluster" | "ably" => 5,
            "not_owner" | "not_live" => 4,
            _ => 1,
        };
        Fail(code, e.to_string())
    }
}

type Out = Result<(), Fail>;

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

fn options(c: &ConnArgs, target: Target) -> ConnectOptions {
    let mut o = ConnectOptions::new(target);
    o.connect_timeout = Duration::from_millis(c.connect_timeout_ms);
    o.response_timeout = Duration::from_millis(c.timeout_ms);
    o
}

async fn connect(c: &ConnArgs) -> Result<Engine, Fail> {
    let chosen =
        usize::from(c.redis_url.is_some()) + usize::from(!c.cluster.is_empty()) + usize::from(c.upstash_url.is_some());
    if chosen > 1 {
        return Err(Fail(2, "give one of --redis-url, --cluster or --upstash-url, not several".into()));
    }
    let target = if let Some(url) = &c.redis_url {
        Target::Url(url.clone())
    } else if !c.cluster.is_empty() {
        Target::Cluster(c.cluster.clone())
    } else if let Some(url) = &c.upstash_url {
        let token = std::env::var("SEATWISE_UPSTASH_TOKEN").map_err(|_| {
            Fail(2, "--upstash-url needs the REST token in SEATWISE_UPSTASH_TOKEN (never on the command line)".into())
        })?;
        Target::Rest { url: url.clone(), token }
    } else {
        return Err(Fail(
            2,
            "no Redis configured: pass --redis-url (or set SEATWISE_REDIS_URL), --cluster for a Redis Cluster, or --upstash-url (SEATWISE_UPSTASH_URL, with SEATWISE_UPSTASH_TOKEN) for Upstash over REST; `seatwise demo` runs a local sandbox".into(),
        ));
    };
    Ok(Engine::new(Redis::connect(&options(c, target)).await?))
}

fn no_ably() -> Fail {
    Fail(2, "Ably is not configured: set SEATWISE_ABLY_KEY to the API key (appId.keyId:secret)".into())
}

/// The Ably client from SEATWISE_ABLY_KEY (None when it is not set).
fn ably_client(c: &ConnArgs) -> Result<Option<Arc<AblyRest>>, Fail> {
    let Ok(text) = std::env::var("SEATWISE_ABLY_KEY") else { return Ok(None) };
    let key = ApiKey::parse(&text).map_err(|e| Fail(2, format!("SEATWISE_ABLY_KEY: {e}")))?;
    let mut cfg = AblyConfig::new(key);
    if let Some(ep) = &c.ably_endpoint {
        cfg.endpoint = Some(Endpoint::parse(ep).map_err(|e| Fail(2, e.to_string()))?);
    }
    if !(c.ably_max_rps >= 0.0 && c.ably_max_rps.is_finite()) {
        return Err(Fail(2, format!("--ably-max-rps {} must be 0 (no ceiling) or more", c.ably_max_rps)));
    }
    cfg.max_requests_per_second = c.ably_max_rps;
    Ok(Some(Arc::new(AblyRest::new(cfg).map_err(|e| Fail(2, e.to_string()))?)))
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
    for _ in 0..50 {
        let r = n.cycle(scopes, &bar).await?;
        if r.read == 0 {
            break;
        }
        if r.failed > 0 {
            eprintln!();
            return Err(Fail(
                1,
                format!(
                    "some buyers could not be told yet ({}); they stay recorded and `seatwise worker` will retry",
                    r.errors.first().cloned().unwrap_or_default()
                ),
            ));
        }
    }
    eprintln!();
    Ok(())
}

async fn worker(engine: &Engine, conn: &ConnArgs, once: bool, idle_ms: u64) -> Out {
    let ably = ably_client(conn)?;
    if once {
        let n = Notifier::new(engine.clone(), ably.ok_or_else(no_ably)?, &consumer_name());
        let mut total = CycleReport::default();
        loop {
            let scopes = n.all_scopes().await?;
            let r = n.cycle(&scopes, &|_| {}).await?;
            total.read += r.read;
            total.delivered += r.delivered;
            total.failed += r.failed;
            total.errors.extend(r.errors);
            if r.read == 0 || r.failed > 0 {
                break;
            }
        }
        print_json(
            &serde_json::json!({"read": total.read, "delivered": total.delivered, "failed": total.failed, "errors": total.errors}),
        );
        return if total.failed == 0 {
            Ok(())
        } else {
            Err(Fail(1, "some events could not be delivered; they stay in the outbox".into()))
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
    let time = ably.time().await.map_err(|e| Fail(5, format!("Ably: {e}")))?;
    let req = ably.create_token_request(seatwise_ably::TokenParams {
        ttl_ms: Some(60_000),
        timestamp: Some(time),
        ..Default::default()
    });
    let tok = ably.request_token(&req).await.map_err(|e| Fail(5, format!("Ably refused the key: {e}")))?;
    let skew = time as i64 - chrono::Utc::now().timestamp_millis();
    if json {
        print_json(
            &serde_json::json!({"ok": true, "key": ably.key().hint(), "ablyTime": time, "clockSkewMs": skew, "tokenExpires": tok.expires}),
        );
    } else {
        println!("Ably credentials work: key {} issued a token (clock skew {skew} ms)", ably.key().hint());
    }
    Ok(())
}

fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

fn read_file(path: &PathBuf) -> Result<String, Fail> {
    std::fs::read_to_string(path).map_err(|e| Fail(2, format!("{}: {e}", path.display())))
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
    if let Cmd::Demo { data_dir, duration, interval, rate } = cli.cmd {
        return demo(&cli.conn, data_dir, duration, interval, rate).await;
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
            if r.success { Ok(()) } else { Err(Fail(1, "some schedules failed (see above)".into())) }
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
                    let f = |k: &str| e.fields.get(k).cloned().unwrap_or_default();
                    let what = match f("kind").as_str() {
                        "action" => format!("{} {} {}", f("action"), f("scope"), f("detail")),
                        "result" => format!("result v{} {}", f("version"), f("message")),
                        k => format!("{k} {} {} → {} (v{})", f("show"), f("from"), f("to"), f("version")),
                    };
                    println!("{}  {}@{}  {what}", f("at"), f("user"), f("host"));
                }
            }
            Ok(())
        }
        Cmd::Simulate(a) => simulate(&engine, a).await,
        Cmd::Worker { once, idle_ms } => worker(&engine, &cli.conn, once, idle_ms).await,
        Cmd::TokenRequest { scope: s, ticket: t, buyer: b, ttl_ms, timestamp, nonce } => {
            let ably = ably_client(&cli.conn)?.ok_or_else(no_ably)?;
            let req = engine
                .buyer_token_request(&ably, &scope(&s)?, &ticket(&t)?, &BuyerId::new(&b)?, ttl_ms, timestamp, nonce)
                .await?;
            print_json(&req);
            Ok(())
        }
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
                for s in list {
                    println!(
                        "{:<24} {:<10} {:>4} {:>9}  {} ({})",
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
                    std::fs::write(&p, text + "\n").map_err(|e| Fail(1, format!("{}: {e}", p.display())))?;
                    eprintln!("wrote {}", p.display());
                }
                None => println!("{text}"),
            }
        }
    }
    Ok(())
}

async fn queue(engine: &Engine, actor: &Actor, c: QueueCmd, json: bool) -> Out {
    let (action, sc, detail, msg) = match c {
        QueueCmd::Pause { scope: s } => {
            let sc = scope(&s)?;
            let e = engine.pause_queue(&sc).await?;
            ("pause", sc, String::new(), e.message())
        }
        QueueCmd::Resume { scope: s } => {
            let sc = scope(&s)?;
            engine.resume_queue(&sc).await?;
            ("resume", sc, String::new(), "queue resumed".to_string())
        }
        QueueCmd::Admit { scope: s, n } => {
            let sc = scope(&s)?;
            let k = engine.admit(&sc, n).await?;
            ("admit", sc, format!("asked {n}, admitted {k}"), format!("admitted {k} buyers"))
        }
        QueueCmd::Capacity { scope: s, capacity } => {
            let sc = scope(&s)?;
            let k = engine.set_capacity(&sc, capacity).await?;
            ("capacity", sc, capacity.to_string(), format!("capacity set to {capacity}; {k} buyers admitted"))
        }
        QueueCmd::Announce { scope: s, message } => {
            let sc = scope(&s)?;
            engine.announce(&sc, &message).await?;
            ("announce", sc, message, "announcement queued for everyone waiting".to_string())
        }
        QueueCmd::Remove { scope: s, ticket: t } => {
            let sc = scope(&s)?;
            let t = ticket(&t)?;
            let prev = engine.remove_ticket(&sc, &t).await?;
            ("remove", sc, t.to_string(), format!("ticket {t} removed (it was {})", prev.as_str()))
        }
    };
    engine.record_action(actor, action, &sc, &detail).await?;
    if json {
        print_json(&serde_json::json!({ "scope": sc.to_string(), "message": msg }))
    } else {
        println!("{msg}")
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
        BuyerCmd::Join { scope: s, buyer: b } => show_status(engine.join(&scope(&s)?, &BuyerId::new(&b)?).await?),
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
    let shows = engine.list_shows().await?;
    let scopes: Vec<Scope> = shows
        .iter()
        .filter(|s| s.status.has_live_queues() && (only.is_empty() || only.contains(&s.id)))
        .flat_map(|s| s.scopes().into_iter().map(|(sc, _)| sc))
        .collect();
    if scopes.is_empty() {
        return Err(Fail(4, "no open show to simulate buyers for: set a show to OPEN first".into()));
    }
    Ok(scopes)
}

fn sim_config(scopes: Vec<Scope>, a: &SimArgs) -> Result<SimConfig, Fail> {
    if !(0.0..=1.0).contains(&a.abandon) {
        return Err(Fail(2, format!("--abandon {} is not a share: use a number from 0 to 1", a.abandon)));
    }
    if !(a.rate > 0.0 && a.rate <= 100_000.0) {
        return Err(Fail(
            2,
            format!("--rate {} is out of range: use more than 0 and at most 100000 buyers per second", a.rate),
        ));
    }
    Ok(SimConfig {
        scopes,
        join_rate: a.rate,
        abandon_ratio: a.abandon,
        poll_interval: Duration::from_millis(a.poll_ms.max(50)),
        max_buyers: a.buyers,
        ..Default::default()
    })
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
    let sim = Simulator::start(engine.clone(), sim_config(scopes, &a)?);
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

async fn demo(conn: &ConnArgs, data_dir: Option<PathBuf>, duration: Option<u64>, interval: u64, rate: f64) -> Out {
    // A configured Redis wins: the demo then only loads and opens the demo shows there.
    let configured = conn.redis_url.is_some() || !conn.cluster.is_empty() || conn.upstash_url.is_some();
    let server = if configured {
        None
    } else {
        let dir = data_dir.unwrap_or_else(default_data_dir);
        eprintln!("starting a local redis-server (data in {})", dir.display());
        Some(RedisServer::start(&ServerOptions { data_dir: Some(dir), ..Default::default() })?)
    };
    let engine = match &server {
        Some(s) => Engine::new(Redis::connect(&options(conn, Target::Url(s.url()))).await?),
        None => connect(conn).await?,
    };
    let actor = Actor::current();
    let shows = engine.open_demo_shows(&actor).await?;
    let sim_args = SimArgs { show: Vec::new(), rate, abandon: 0.15, poll_ms: 2000, duration: None, buyers: None };
    let scopes = sim_scopes(&engine, &shows.iter().map(|s| s.id.clone()).collect::<Vec<_>>()).await?;
    let sim = Simulator::start(engine.clone(), sim_config(scopes, &sim_args)?);
    if let Some(s) = &server {
        eprintln!(
            "sandbox Redis at {} — in another terminal: SEATWISE_REDIS_URL={} seatwise monitor",
            s.url(),
            s.url()
        );
    }
    let r = monitor::run(&engine, Duration::from_secs(interval.max(1)), false, duration.map(Duration::from_secs)).await;
    let snap = sim.stop().await;
    eprintln!(
        "simulated buyers: joined {} admitted {} booked {} abandoned {} left {}",
        snap.joined, snap.admitted, snap.completed, snap.abandoned, snap.left
    );
    if let Some(s) = server {
        s.shutdown();
    }
    r
}
