//! The buyer lifecycle on one queue: join (one or a batch), the heartbeat, leave, holds and booking.

use super::*;

impl Engine {
    /// A buyer joins the queue. A buyer who already holds a live ticket gets [`Error::AlreadyQueued`]: only
    /// its owner gets it back ([`Engine::join_with_proof`]).
    pub async fn join(&self, scope: &Scope, buyer: &BuyerId) -> Result<TicketStatus> {
        self.join_with_proof(scope, buyer, JoinProof::None).await
    }

    /// A buyer joins the queue, or gets their live ticket back with proof that it is theirs.
    pub async fn join_with_proof(&self, scope: &Scope, buyer: &BuyerId, proof: JoinProof<'_>) -> Result<TicketStatus> {
        let keys = keys::queue_keys(scope);
        let r =
            self.redis.eval(&SCRIPTS.join, &keys[..keys::JOIN_KEYS], &[buyer.to_string(), proof_arg(proof)]).await?;
        Context::queue(scope).joined(buyer, r)
    }

    /// Several buyers join one queue in one script call, in the order given: each gets what
    /// [`Engine::join_with_proof`] would have answered had the calls run one after another (dense ranks in this
    /// order, one ticket per buyer, ownership checked per buyer). The outer error is the whole batch's
    /// (no queue, closed, Redis); the inner ones are per buyer. At most [`MAX_JOIN_BATCH`] buyers.
    pub async fn join_many(
        &self,
        scope: &Scope,
        joins: &[(BuyerId, JoinProof<'_>)],
    ) -> Result<Vec<Result<TicketStatus>>> {
        if joins.len() > MAX_JOIN_BATCH {
            return Err(Error::invalid(
                "join batch",
                &joins.len().to_string(),
                format!("at most {MAX_JOIN_BATCH} buyers per call"),
            ));
        }
        if joins.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys::queue_keys(scope);
        let mut args = Vec::with_capacity(1 + 2 * joins.len());
        args.push(joins.len().to_string());
        for (buyer, proof) in joins {
            args.push(buyer.to_string());
            args.push(proof_arg(*proof));
        }
        let r = self.redis.eval(&SCRIPTS.join_many, &keys[..keys::JOIN_KEYS], &args).await?;
        let buyers: Vec<&BuyerId> = joins.iter().map(|(b, _)| b).collect();
        Context::queue(scope).joined_many(&buyers, r)
    }

    /// A buyer's heartbeat: where the ticket stands now. A ticket of a closed queue answers `closed`.
    pub async fn status(&self, scope: &Scope, ticket: &Ticket) -> Result<TicketStatus> {
        self.status_for(scope, ticket, None).await
    }

    /// [`Engine::status`] for a caller acting for `owner` (the gateway): someone else's ticket is refused
    /// with [`Error::NotOwner`]. The same `owner` argument on leave, hold, release and complete.
    pub async fn status_for(&self, scope: &Scope, ticket: &Ticket, owner: Option<&BuyerId>) -> Result<TicketStatus> {
        let r = self.run(&SCRIPTS.status, scope, ticket_args(ticket, owner)).await?;
        Context::ticket(scope, ticket, owner).status(r)
    }

    /// The ticket departs the queue; `how` it left is recorded (`left`: the buyer; `removed`: staff).
    async fn depart(&self, scope: &Scope, ticket: &Ticket, owner: Option<&BuyerId>, how: &str) -> Result<TicketState> {
        let mut args = ticket_args(ticket, owner);
        args.push(how.to_string());
        let r = self.run(&SCRIPTS.leave, scope, args).await?;
        Context::ticket(scope, ticket, owner).departed(r)
    }

    /// The buyer leaves. Returns the state the ticket was in (leaving twice is harmless).
    pub async fn leave(&self, scope: &Scope, ticket: &Ticket) -> Result<TicketState> {
        self.depart(scope, ticket, None, "left").await
    }

    /// [`Engine::leave`] for a caller acting for `owner`.
    pub async fn leave_for(&self, scope: &Scope, ticket: &Ticket, owner: Option<&BuyerId>) -> Result<TicketState> {
        self.depart(scope, ticket, owner, "left").await
    }

    /// Staff remove a ticket from the queue (the buyer is told). Returns the state it was in.
    pub async fn remove_ticket(&self, scope: &Scope, ticket: &Ticket) -> Result<TicketState> {
        self.depart(scope, ticket, None, "removed").await
    }

    /// Holds seats for an admitted buyer, all or nothing.
    pub async fn hold(&self, scope: &Scope, ticket: &Ticket, seats: &[SeatId]) -> Result<Held> {
        self.hold_for(scope, ticket, None, seats).await
    }

    /// [`Engine::hold`] for a caller acting for `owner`.
    pub async fn hold_for(
        &self,
        scope: &Scope,
        ticket: &Ticket,
        owner: Option<&BuyerId>,
        seats: &[SeatId],
    ) -> Result<Held> {
        if seats.is_empty() {
            return Err(Error::invalid("seat list", "", "name at least one seat to hold"));
        }
        let mut args = ticket_args(ticket, owner);
        args.extend(seats.iter().map(|s| s.to_string()));
        let r = self.run(&SCRIPTS.hold, scope, args).await?;
        Context::ticket(scope, ticket, owner).held(r)
    }

    /// Releases some seats (or all, when `seats` is empty). Returns the seats still held.
    pub async fn release(&self, scope: &Scope, ticket: &Ticket, seats: &[SeatId]) -> Result<Vec<String>> {
        self.release_for(scope, ticket, None, seats).await
    }

    /// [`Engine::release`] for a caller acting for `owner`.
    pub async fn release_for(
        &self,
        scope: &Scope,
        ticket: &Ticket,
        owner: Option<&BuyerId>,
        seats: &[SeatId],
    ) -> Result<Vec<String>> {
        let mut args = ticket_args(ticket, owner);
        args.extend(seats.iter().map(|s| s.to_string()));
        Context::ticket(scope, ticket, owner).seats(self.run(&SCRIPTS.release, scope, args).await?)
    }

    /// The seats taken now (held by a session, or sold): what a seat picker greys out. Read-only, one call.
    pub async fn taken_seats(&self, scope: &Scope) -> Result<Vec<String>> {
        let r = self.run(&SCRIPTS.seats_ro, scope, Vec::new()).await?;
        let mut seats = Context::queue(scope).seats(r)?;
        seats.sort();
        seats.dedup();
        Ok(seats)
    }

    /// Books the held seats: they become sold, the session ends, the next buyer is admitted.
    pub async fn complete(&self, scope: &Scope, ticket: &Ticket) -> Result<Vec<String>> {
        self.complete_for(scope, ticket, None).await
    }

    /// [`Engine::complete`] for a caller acting for `owner`.
    pub async fn complete_for(&self, scope: &Scope, ticket: &Ticket, owner: Option<&BuyerId>) -> Result<Vec<String>> {
        let args = ticket_args(ticket, owner);
        Context::ticket(scope, ticket, owner).seats(self.run(&SCRIPTS.complete, scope, args).await?)
    }
}
