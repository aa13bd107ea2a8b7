-- admitted-ro: read-only. Is this ticket admitted with a live session now? The online check of an
-- admission pass: a pass outlives nothing (leave, completion, staff removal, a session that ran out).
-- (BITFIELD_RO, not lib's slot_get: a read-only script may not run BITFIELD.)
-- ARGV[1] gen, ARGV[2] seq, ARGV[3] tag
-- Returns {OK, expires_at_ms} | {E_NOT_LIVE, state} | {E_CLOSED} | {E_UNKNOWN_TICKET}
local m = load_meta()
local seq = check_ticket(m, ARGV[1], ARGV[2], ARGV[3])
if seq < 0 then return {seq} end
local state = redis.call('BITFIELD_RO', K_TICK, 'GET', 'i64', int(seq * 64))[1] % 256
if state ~= ST_ADMITTED then return {E_NOT_LIVE, state} end
local expires = tonumber(redis.call('ZSCORE', K_SESS, int(seq)) or '0')
if expires <= now_ms() then return {E_NOT_LIVE, ST_EXPIRED} end
return {OK, expires}
