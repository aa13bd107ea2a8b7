-- ticket-check: read-only. Is this ticket a live ticket (waiting, admitted, or in the grace window of a missed turn) of the current generation,
-- and is it the given buyer's? Used before issuing an Ably token to a buyer.
-- ARGV[1] gen, ARGV[2] seq, ARGV[3] tag, ARGV[4] buyer id
-- Returns {OK, state} | {E_NOT_OWNER} (not this buyer's) | {E_NOT_LIVE, state} (not live) | {E_CLOSED} | {E_UNKNOWN_TICKET}
local m = load_meta()
local seq = check_ticket(m, ARGV[1], ARGV[2], ARGV[3])
if seq < 0 then return {seq} end
if tonumber(redis.call('HGET', K_BUY, ARGV[4]) or '0') ~= seq then return {E_NOT_OWNER} end
local st = slot_get(seq)
if st == ST_ADMITTED and not live_session(seq, now_ms()) then return {E_NOT_LIVE, ST_EXPIRED} end
-- A buyer who missed their turn is live until the grace window ends (back: waiting again).
if st == ST_BACK then st = ST_WAITING end
if st ~= ST_WAITING and st ~= ST_ADMITTED and st ~= ST_MISSED then return {E_NOT_LIVE, st} end
return {OK, st}
