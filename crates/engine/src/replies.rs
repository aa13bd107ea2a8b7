//! Every queue script's reply as a type, decoded here and nowhere else: a script answers a flat array (its
//! result code, then fields by position, as each script's header says); this module turns it into what
//! the engine returns, with each result code mapped to its error once, named with what the call was
//! about ([`Context`]). A test checks no other module reads a reply by position.

use crate::error::{Error, Result};
use crate::ids::{BuyerId, Scope, Ticket};
use crate::monitor::{Announcement, QueueState, QueueStats, likely_sold_out_rank};
use crate::queue::{Held, QueueEffect, TicketState, TicketStatus};
use crate::scripts::{self, Reply};

/// What a script call was about: the queue, and for ticket calls the ticket and the buyer the caller acts
/// for. Errors name them.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    pub scope: &'a Scope,
    pub ticket: Option<&'a Ticket>,
    pub owner: Option<&'a BuyerId>,
}

impl<'a> Context<'a> {
    pub fn queue(scope: &'a Scope) -> Context<'a> {
        Context { scope, ticket: None, owner: None }
    }

    pub fn ticket(scope: &'a Scope, ticket: &'a Ticket, owner: Option<&'a BuyerId>) -> Context<'a> {
        Context { scope, ticket: Some(ticket), owner }
    }

    /// The reply when it says OK; else its code's error (the owner check's included).
    pub fn ok(&self, r: Reply) -> Result<Reply> {
        if r.code() == scripts::E_NOT_OWNER {
            return Err(self.not_owner());
        }
        let ticket = self.ticket.map(Ticket::to_string).unwrap_or_default();
        r.into_result(&self.scope.to_string(), &ticket)
    }

    fn not_owner(&self) -> Error {
        Error::NotOwner {
            ticket: self.ticket.map(Ticket::to_string).unwrap_or_default(),
            buyer: self.owner.map(BuyerId::to_string).unwrap_or_default(),
        }
    }

    /// The ticket fields {ticket, state, rank, eta_ms, expires_at_ms, paused, back} at `base + 1 ..= base + 7`
    /// (`ticket_reply` in lua/lib/calls.lua).
    fn ticket_at(&self, r: &Reply, base: usize) -> Result<TicketStatus> {
        let state = TicketState::from_code(r.int(base + 2))?;
        let expires = r.uint(base + 5);
        Ok(TicketStatus {
            scope: self.scope.to_string(),
            ticket: r.str(base + 1),
            state,
            rank: r.uint(base + 3),
            eta_ms: r.uint(base + 4),
            expires_at_ms: (expires > 0).then_some(expires),
            paused: r.int(base + 6) == 1,
            prequeue: r.int(base + 6) == 2,
            returned: r.int(base + 7) == 1,
        })
    }

    /// join.lua: the buyer's ticket; a live ticket of theirs without proof is [`Error::AlreadyQueued`].
    pub fn joined(&self, buyer: &BuyerId, r: Reply) -> Result<TicketStatus> {
        if r.code() == scripts::E_NOT_OWNER {
            return Err(Error::AlreadyQueued { scope: self.scope.to_string(), buyer: buyer.to_string() });
        }
        self.ticket_at(&r.into_result(&self.scope.to_string(), "")?, 0)
    }

    /// join-many.lua: one result per buyer, in order (7 fields each: code, then the ticket's six).
    pub fn joined_many(&self, buyers: &[&BuyerId], r: Reply) -> Result<Vec<Result<TicketStatus>>> {
        let r = r.into_result(&self.scope.to_string(), "")?;
        Ok(buyers
            .iter()
            .enumerate()
            .map(|(i, buyer)| {
                let base = 1 + 7 * i;
                match r.int(base) {
                    scripts::OK => self.ticket_at(&r, base),
                    scripts::E_NOT_OWNER => {
                        Err(Error::AlreadyQueued { scope: self.scope.to_string(), buyer: buyer.to_string() })
                    }
                    scripts::E_QUEUE_FULL => Err(Error::QueueFull(self.scope.to_string())),
                    code => Err(Error::Redis(format!("join-many answered code {code} for one buyer"))),
                }
            })
            .collect())
    }

    /// status.lua: where the ticket stands; a ticket of a closed queue is `closed`.
    pub fn status(&self, r: Reply) -> Result<TicketStatus> {
        if r.code() == scripts::E_CLOSED {
            return Ok(TicketStatus {
                scope: self.scope.to_string(),
                ticket: self.ticket.map(Ticket::to_string).unwrap_or_default(),
                state: TicketState::Closed,
                rank: 0,
                eta_ms: 0,
                expires_at_ms: None,
                paused: false,
                prequeue: false,
                returned: false,
            });
        }
        self.ticket_at(&self.ok(r)?, 0)
    }

    /// leave.lua: the state the ticket was in (leaving twice is harmless: E_ALREADY says the state).
    pub fn departed(&self, r: Reply) -> Result<TicketState> {
        if r.code() == scripts::E_ALREADY {
            return TicketState::from_code(r.int(1));
        }
        TicketState::from_code(self.ok(r)?.int(1))
    }

    /// hold.lua: until when, and every seat now held.
    pub fn held(&self, r: Reply) -> Result<Held> {
        let r = self.ok(r)?;
        Ok(Held { expires_at_ms: r.uint(1), seats: r.strings_from(2) })
    }

    /// release.lua, complete.lua, seats-ro.lua: a list of seats.
    pub fn seats(&self, r: Reply) -> Result<Vec<String>> {
        Ok(self.ok(r)?.strings_from(1))
    }

    /// One number after OK (outflow.lua, challenge.lua, capacity.lua: the previous or resulting figure).
    pub fn number(&self, r: Reply) -> Result<u64> {
        Ok(self.ok(r)?.uint(1))
    }

    /// admit.lua: (admitted now, whether more wait).
    pub fn admitted(&self, r: Reply) -> Result<(u64, bool)> {
        let r = self.ok(r)?;
        Ok((r.uint(1), r.int(2) != 0))
    }

    /// init.lua: what the OPEN effect did.
    pub fn opened(&self, r: Reply) -> Result<QueueEffect> {
        let generation = r.uint(2);
        Ok(match (r.code(), r.str(1).as_str()) {
            (scripts::E_SUPERSEDED, _) => QueueEffect::Superseded,
            (scripts::E_ALREADY, _) => QueueEffect::AlreadyOpen { generation },
            (scripts::OK, "resumed") => QueueEffect::Resumed { generation },
            (scripts::OK, "prequeue") => QueueEffect::PreQueueOpened { generation },
            (scripts::OK, "drawn") => QueueEffect::Drawn { generation },
            (scripts::OK, _) => QueueEffect::Opened { generation },
            _ => return Err(self.ok(r).err().unwrap_or_else(|| Error::Redis("init answered OK twice".into()))),
        })
    }

    /// pause.lua.
    pub fn paused(&self, r: Reply) -> Result<QueueEffect> {
        Ok(match r.code() {
            scripts::E_SUPERSEDED => QueueEffect::Superseded,
            scripts::E_ALREADY => QueueEffect::AlreadyPaused,
            scripts::E_NO_QUEUE => QueueEffect::NoQueue,
            scripts::E_CLOSED => QueueEffect::AlreadyClosed,
            _ => {
                self.ok(r)?;
                QueueEffect::Paused
            }
        })
    }

    /// resume.lua: only a paused queue resumes.
    pub fn resumed(&self, r: Reply) -> Result<QueueEffect> {
        if r.code() == scripts::E_ALREADY {
            return Err(Error::invalid(
                "resume",
                &self.scope.to_string(),
                "the queue is open already; only a paused queue can be resumed",
            ));
        }
        Ok(QueueEffect::Resumed { generation: self.ok(r)?.uint(1) })
    }

    /// close.lua: the effect, or None when the generation changed under it (the caller reads it again).
    pub fn closed(&self, r: Reply) -> Result<Option<QueueEffect>> {
        Ok(Some(match r.code() {
            scripts::E_SUPERSEDED => QueueEffect::Superseded,
            scripts::E_STALE => return Ok(None),
            scripts::E_ALREADY => QueueEffect::AlreadyClosed,
            scripts::E_NO_QUEUE => QueueEffect::NoQueue,
            _ => {
                let r = self.ok(r)?;
                QueueEffect::Closed { generation: r.uint(1), buyers_to_tell: r.uint(2) }
            }
        }))
    }

    /// admitted-ro.lua: until when the ticket's session lasts, or None when it is not admitted now.
    pub fn admitted_until(&self, r: Reply) -> Result<Option<u64>> {
        match r.code() {
            scripts::E_NOT_LIVE | scripts::E_CLOSED | scripts::E_UNKNOWN_TICKET => Ok(None),
            _ => Ok(Some(self.ok(r)?.uint(1))),
        }
    }

    /// ticket-check.lua: the ticket is live (waiting or admitted) and the owner's.
    pub fn live_ticket(&self, r: Reply) -> Result<()> {
        if r.code() == scripts::E_NOT_LIVE {
            let state = TicketState::from_code(r.int(1)).map_or("not live", TicketState::as_str);
            return Err(Error::TicketNotLive {
                ticket: self.ticket.map(Ticket::to_string).unwrap_or_default(),
                state: state.into(),
            });
        }
        self.ok(r).map(|_| ())
    }
}

/// ratelimit.lua: `Some(ms to wait)` when the count is over `limit`.
pub(crate) fn over_limit(kind: &str, r: Reply, limit: u64) -> Result<Option<u64>> {
    let r = r.into_result(kind, "")?;
    Ok((r.uint(1) > limit).then(|| r.uint(2).max(1)))
}

/// stats.lua / stats-ro.lua: one queue's figures (the order is the script header's).
pub(crate) fn stats(r: &Reply) -> QueueStats {
    if r.code() == scripts::E_NO_QUEUE {
        return QueueStats { state: QueueState::None, pending_events: r.uint(1), ..Default::default() };
    }
    let queue_size = r.uint(3);
    let avg = r.uint(6);
    QueueStats {
        state: QueueState::from_meta(&r.str(1)),
        generation: r.uint(2),
        queue_size,
        active_sessions: r.uint(4),
        capacity: r.uint(5),
        avg_service_ms: avg,
        estimated_wait_time: queue_size * avg,
        admitted_total: r.uint(7),
        abandoned_total: r.uint(8),
        completed_total: r.uint(9),
        expired_total: r.uint(10),
        left_total: r.uint(11),
        removed_total: r.uint(12),
        pending_events: r.uint(13),
        session_ms: r.uint(14),
        abandon_ms: r.uint(15),
        tickets_issued: r.uint(16),
        opened_at_ms: r.uint(17),
        closed_reason: r.str(18),
        max_seats: r.uint(19),
        outbox_dropped: r.uint(20),
        pow_bits: r.uint(21) as u32,
        outflow_per_min: r.uint(22) as u32,
        seats_total: r.uint(23),
        seats_left: r.int(24),
        draw_commit: r.str(26),
        draw_seed: r.str(27),
        draw_count: r.uint(28),
        ms_per_admission: r.uint(29),
        admit_share_ppm: r.uint(30),
        admissions_per_min: r.uint(31),
        estimate_error_pct: (r.int(32) >= 0).then(|| r.int(32) as f64 / 10.0),
        estimate_samples: r.uint(33),
        estimate_error_p10_pct: r.int(34) as f64 / 10.0,
        estimate_error_p90_pct: r.int(35) as f64 / 10.0,
        missed_now: r.uint(36),
        returned_now: r.uint(37),
        missed_total: r.uint(38),
        grace_ms: r.uint(39),
        announcement: (r.uint(41) > 0).then(|| Announcement { message: r.str(40), at_ms: r.uint(41) }),
        paused_since_ms: (r.uint(42) > 0).then(|| r.uint(42)),
        estimate_measured: r.uint(43) == 1,
        likely_sold_out_rank: likely_sold_out_rank(r.uint(23), r.int(24), r.uint(4), r.uint(25), r.uint(7)),
        to_tell: 0,
    }
}

/// draw-ro.lua: the tickets at a run of places of the draw.
pub(crate) fn draw_places(r: Reply) -> Result<Vec<String>> {
    if r.code() != scripts::OK {
        return Err(Error::Redis(format!("the queue could not list its draw (code {})", r.code())));
    }
    Ok(r.strings_from(1))
}

/// history.lua: whether this call wrote the slot's sample (another worker or console may have).
pub(crate) fn sample_written(r: &Reply) -> bool {
    r.uint(1) == 1
}

/// lease.lua: whether the caller holds the lease now (`take` or `renew` answered OK).
pub(crate) fn lease_held(r: &Reply) -> bool {
    r.code() == scripts::OK
}

/// show-cas.lua: the show was written, or why not.
pub(crate) fn show_written(show: &crate::shows::Show, r: Reply) -> Result<()> {
    match r.code() {
        scripts::OK => Ok(()),
        scripts::E_EXISTS => Err(Error::ShowExists(show.id.to_string())),
        scripts::E_NOT_FOUND => Err(Error::ShowNotFound(show.id.to_string())),
        scripts::E_CONFLICT => Err(Error::Conflict {
            show: show.id.to_string(),
            current: crate::status::ShowStatus::parse(&r.str(2)).unwrap_or_default(),
            version: r.uint(1),
        }),
        code => Err(Error::Redis(format!("show-cas answered code {code}"))),
    }
}

#[cfg(test)]
mod tests {
    /// Replies are read by position here (and by scripts.rs's own helpers) only.
    #[test]
    fn no_other_module_reads_a_reply_by_position() {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut files = vec![std::path::PathBuf::from(src)];
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if !name.ends_with(".rs") || name == "replies.rs" || name == "scripts.rs" {
                continue;
            }
            let code = std::fs::read_to_string(&p).unwrap();
            for read in [".uint(", ".int(", ".str(", ".strings_from("] {
                assert!(!code.contains(read), "{} reads a script reply by position ({read})", p.display());
            }
        }
    }
}
