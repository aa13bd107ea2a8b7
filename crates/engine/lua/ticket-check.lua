-- ticket-check: read-only. Is this ticket a live ticket (waiting or admitted) of the current generation,
-- and is it the given buyer's? Used before issuing an Ably token to a buyer.
-- ARGV[1] gen, ARGV[2] seq, ARGV[3] tag, ARGV[4] buyer id
-- Returns {0, state} | {-15} (not this buyer's) | {-16, state} (not live) | {E_CLOSED} | {E_UNKNOWN_TICKET}
local m = load_meta()
local seq = check_ticket(m, ARGV[1], ARGV[2], ARGV[3])
if seq < 0 then return {seq} end
if tonumber(redis.call('HGET', K_BUY, ARGV[4]) or '0') ~= seq then return {-15} end
local st = slot_get(seq)
if st == ST_ADMITTED and not live_session(seq, now_ms()) then return {-16, ST_EXPIRED} end
if st ~= ST_WAITING and st ~= ST_ADMITTED then return {-16, st} end
return {OK, st}
