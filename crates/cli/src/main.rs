//! `seatwise`: every queue-engine operation from the command line, the load simulator, a terminal monitor,
//! and `demo`, the embedded default (a local redis-server with demo shows, buyers and the monitor).
//!
//! Exit codes: 0 done; 1 other failure; 2 invalid input or usage; 3 conflict or illegal transition;
//! 4 not found (show, queue, ticket); 5 Redis unreachable, timed out, or refused the credentials.

mod args;
mod cmd;
mod conn;
mod monitor;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use seatwise_engine::ErrorCode;
use seatwise_engine::{Actor, BuyerId, Error, Scope, SeatId, ShowId, ShowStatus, Ticket};

use args::{Cli, Cmd};
use cmd::notify::*;
use cmd::queue::*;
use cmd::shows::*;
use cmd::sim::*;
use conn::*;

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

pub(crate) fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

pub(crate) fn read_file(path: &PathBuf) -> Result<String, Fail> {
    std::fs::read_to_string(path).map_err(|e| Fail::new(ErrorCode::File, format!("{}: {e}", path.display())))
}

pub(crate) fn scope(s: &str) -> Result<Scope, Fail> {
    Ok(Scope::parse(s)?)
}

pub(crate) fn ticket(s: &str) -> Result<Ticket, Fail> {
    Ok(Ticket::parse(s)?)
}

pub(crate) fn seats(v: &[String]) -> Result<Vec<SeatId>, Fail> {
    Ok(v.iter().map(|s| SeatId::new(s)).collect::<Result<Vec<_>, _>>()?)
}

pub(crate) async fn run(cli: Cli) -> Out {
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
