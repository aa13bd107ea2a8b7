//! Buyer token requests for Ably: only for the buyer's own live ticket, with a capability limited to the
//! queue's public channel and the ticket's private channel.

use seatwise_ably::{AblyRest, Capability, TokenParams, TokenRequest};

use crate::error::{Error, Result};
use crate::ids::{BuyerId, Scope, Ticket};
use crate::keys;
use crate::notify::{queue_channel, ticket_channel};
use crate::queue::Engine;
use crate::replies::Context;
use crate::scripts::SCRIPTS;

/// Longest buyer token.
pub const MAX_TOKEN_TTL_MS: u64 = 2 * 3600 * 1000;
pub const DEFAULT_TOKEN_TTL_MS: u64 = 3600 * 1000;

impl Engine {
    /// Signs an Ably token request for a buyer: only for their own ticket, waiting or admitted in a live
    /// queue; capability subscribe-only on the queue's public channel and the ticket's private channel;
    /// clientId = the buyer; ttl at most 2 hours (default 1 hour).
    #[allow(clippy::too_many_arguments)]
    pub async fn buyer_token_request(
        &self,
        ably: &AblyRest,
        scope: &Scope,
        ticket: &Ticket,
        buyer: &BuyerId,
        ttl_ms: Option<u64>,
        timestamp: Option<u64>,
        nonce: Option<String>,
    ) -> Result<TokenRequest> {
        let ttl = ttl_ms.unwrap_or(DEFAULT_TOKEN_TTL_MS);
        if !(1000..=MAX_TOKEN_TTL_MS).contains(&ttl) {
            return Err(Error::invalid(
                "token ttl",
                &ttl.to_string(),
                "a buyer token lives 1000 ms to 2 hours (7200000 ms)",
            ));
        }
        if let Some(n) = &nonce
            && (n.len() < 16 || n.chars().any(|c| !c.is_ascii_alphanumeric()))
        {
            return Err(Error::invalid("nonce", n, "a nonce is at least 16 letters and digits, never reused"));
        }
        let keys = keys::queue_keys(scope);
        let args = vec![ticket.generation.to_string(), ticket.seq.to_string(), ticket.tag.clone(), buyer.to_string()];
        let r = self.redis().eval(&SCRIPTS.ticket_check, &keys[..keys::JOIN_KEYS], &args).await?;
        Context::ticket(scope, ticket, Some(buyer)).live_ticket(r)?;
        let capability = Capability::new()
            .allow(&queue_channel(scope), &["subscribe"])
            .allow(&ticket_channel(scope, &ticket.to_string()), &["subscribe"]);
        Ok(ably.create_token_request(TokenParams {
            ttl_ms: Some(ttl),
            capability: Some(capability),
            client_id: Some(buyer.to_string()),
            timestamp,
            nonce,
        }))
    }
}
