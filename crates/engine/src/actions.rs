//! Staff actions on one queue, once for every face: [`StaffAction`] says what to do, [`Engine::perform`]
//! validates it, applies it and writes its audit record. The CLI parses its arguments into a
//! `StaffAction`, the console parses its form with [`StaffAction::parse`]; both print the same outcome.

use serde::{Deserialize, Serialize};

use crate::audit::{Actor, AuditEvent, AuditRecord};
use crate::error::{Error, Result};
use crate::ids::{Scope, Ticket};
use crate::queue::Engine;

/// What staff can do to one schedule's queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StaffAction {
    /// Stop admitting; waiting buyers keep their places.
    Pause,
    /// Admit again after a pause.
    Resume,
    /// Admit up to `n` buyers from the head now, even beyond capacity.
    Admit { n: u32 },
    /// Set the number of concurrent sessions (admits at once when it grows).
    Capacity { capacity: u32 },
    /// A message to everyone waiting.
    Announce { message: String },
    /// Remove a ticket from the queue (the buyer is told).
    Remove { ticket: Ticket },
    /// Ask every join for a proof of work of `bits` leading zero bits (0 = off); see [`crate::gate`].
    Challenge { bits: u32 },
    /// Admit at most `per_minute` buyers per minute (0 = no limit besides the capacity).
    Outflow { per_minute: u32 },
}

/// The names [`StaffAction::parse`] accepts.
pub const ACTION_NAMES: [&str; 8] =
    ["pause", "resume", "admit", "capacity", "announce", "remove", "challenge", "outflow"];

impl StaffAction {
    pub fn name(&self) -> &'static str {
        match self {
            StaffAction::Pause => "pause",
            StaffAction::Resume => "resume",
            StaffAction::Admit { .. } => "admit",
            StaffAction::Capacity { .. } => "capacity",
            StaffAction::Announce { .. } => "announce",
            StaffAction::Remove { .. } => "remove",
            StaffAction::Challenge { .. } => "challenge",
            StaffAction::Outflow { .. } => "outflow",
        }
    }

    /// An action from its name and its argument as typed (a number, a message or a ticket).
    pub fn parse(name: &str, arg: Option<&str>) -> Result<StaffAction> {
        let arg = arg.unwrap_or("");
        let num = |what: &'static str| -> Result<u32> {
            arg.trim().parse().map_err(|_| Error::invalid(what, arg, "enter a whole number"))
        };
        Ok(match name {
            "pause" => StaffAction::Pause,
            "resume" => StaffAction::Resume,
            "admit" => StaffAction::Admit { n: num("number of buyers to admit")? },
            "capacity" => StaffAction::Capacity { capacity: num("capacity")? },
            "announce" => StaffAction::Announce { message: arg.to_string() },
            "remove" => StaffAction::Remove { ticket: Ticket::parse(arg.trim())? },
            "challenge" => StaffAction::Challenge { bits: num("challenge difficulty (bits)")? },
            "outflow" => StaffAction::Outflow { per_minute: num("outflow limit (admissions per minute)")? },
            other => {
                return Err(Error::invalid("staff action", other, format!("use one of {}", ACTION_NAMES.join(", "))));
            }
        })
    }
}

/// What an action did, in words for staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionOutcome {
    pub scope: String,
    pub message: String,
}

impl Engine {
    /// Validates and applies a staff action, then records it in the audit log (who, what, the outcome).
    /// Nothing is recorded for an action that was refused.
    pub async fn perform(&self, actor: &Actor, scope: &Scope, action: &StaffAction) -> Result<ActionOutcome> {
        let (message, detail) = match action {
            StaffAction::Pause => (self.pause_queue(scope).await?.message(), String::new()),
            StaffAction::Resume => {
                self.resume_queue(scope).await?;
                ("queue resumed".to_string(), String::new())
            }
            StaffAction::Admit { n } => {
                let k = self.admit(scope, *n).await?;
                (format!("admitted {k} buyers"), format!("asked {n}, admitted {k}"))
            }
            StaffAction::Capacity { capacity } => {
                let k = self.set_capacity(scope, *capacity).await?;
                (format!("capacity set to {capacity}; {k} buyers admitted"), capacity.to_string())
            }
            StaffAction::Announce { message } => {
                self.announce(scope, message).await?;
                ("announcement queued for everyone waiting".to_string(), message.trim().to_string())
            }
            StaffAction::Remove { ticket } => {
                let prev = self.remove_ticket(scope, ticket).await?;
                (format!("ticket {ticket} removed (it was {})", prev.as_str()), ticket.to_string())
            }
            StaffAction::Challenge { bits } => {
                let prev = self.set_challenge(scope, *bits).await?;
                let message = match bits {
                    0 => "joins need no proof of work".to_string(),
                    b => format!("joins need a proof of work of {b} bits (about {} hashes)", 1u64 << b),
                };
                (message, format!("{prev} -> {bits}"))
            }
            StaffAction::Outflow { per_minute } => {
                let prev = self.set_outflow(scope, *per_minute).await?;
                let message = match per_minute {
                    0 => "no outflow limit: buyers are admitted as sessions free up".to_string(),
                    n => format!("at most {n} buyers admitted per minute"),
                };
                (message, format!("{prev} -> {per_minute}"))
            }
        };
        let event = AuditEvent::Action {
            show: scope.show.clone(),
            scope: scope.to_string(),
            action: action.name().to_string(),
            detail,
        };
        self.write_audit(&AuditRecord::now(actor, event)).await?;
        Ok(ActionOutcome { scope: scope.to_string(), message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_what_is_allowed() {
        assert_eq!(StaffAction::parse("admit", Some(" 5 ")).unwrap(), StaffAction::Admit { n: 5 });
        assert_eq!(StaffAction::parse("pause", None).unwrap(), StaffAction::Pause);
        let e = StaffAction::parse("admit", Some("five")).unwrap_err().to_string();
        assert!(e.contains("whole number"), "{e}");
        let e = StaffAction::parse("explode", None).unwrap_err().to_string();
        assert!(e.contains("pause, resume, admit, capacity, announce, remove, challenge, outflow"), "{e}");
        for name in ACTION_NAMES {
            let arg = match name {
                "admit" | "capacity" | "challenge" | "outflow" => "1",
                "remove" => "1.1.0123456789abcdef",
                _ => "hello",
            };
            assert_eq!(StaffAction::parse(name, Some(arg)).unwrap().name(), name);
        }
    }
}
