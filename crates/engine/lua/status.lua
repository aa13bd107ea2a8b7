-- status: a buyer's heartbeat. Records the buyer as present (one who missed their turn comes back), does the queue's bounded housekeeping (which
-- may admit this very buyer), and answers the ticket's state, rank and estimated wait.
-- ARGV[1] gen, ARGV[2] seq, ARGV[3] tag (the three parts of the ticket id, format-checked by
-- the caller), ARGV[4] owner ('' or the buyer
-- the caller acts for; see check_ticket)
-- Returns {OK, ticket, state, rank, eta_ms, expires_at_ms, paused, back} | {E_CLOSED} | {E_UNKNOWN_TICKET} | {E_NOT_OWNER}
local m = load_meta()
local seq = check_ticket(m, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if seq < 0 then return {seq} end
local now = now_ms()
present(m, seq, now)
maintain(m, now, 8, 8)
return ticket_reply(m, seq)
