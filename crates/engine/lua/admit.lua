-- admit: staff admit up to N buyers from the head now, even beyond the capacity (an explicit decision).
-- ARGV[1] N (>= 1)
-- Returns {OK, admitted, more} (more = 1 when the step budget ran out with buyers still waiting: call
-- again) | {E_NO_QUEUE} | {E_CLOSED} | {E_PAUSED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.state == 'closed' then return {E_CLOSED} end
if m.state == 'paused' then return {E_PAUSED} end
local now = now_ms()
expire_sessions(m, now, 100)
local n = promote(m, now, tonumber(ARGV[1]))
save_cursor(m)
return {OK, n, (n < tonumber(ARGV[1]) and m.waiting > 0) and 1 or 0}
