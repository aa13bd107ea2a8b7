//! `seatwise queue …` (staff actions) and `seatwise buyer …` (a buyer's calls, for trying things out).

use seatwise_engine::{Actor, BuyerId, Engine, JoinProof, StaffAction};

use crate::Out;
use crate::args::{BuyerCmd, QueueCmd};

use crate::*;

pub(crate) async fn queue(engine: &Engine, actor: &Actor, c: QueueCmd, json: bool) -> Out {
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

pub(crate) async fn buyer(engine: &Engine, c: BuyerCmd, json: bool) -> Out {
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
