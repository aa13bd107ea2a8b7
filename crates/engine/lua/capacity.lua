-- capacity: sets the number of concurrent sessions and fills any slots that opens.
-- ARGV[1] capacity (>= 0)
-- Returns {OK, admitted} | {E_NO_QUEUE} | {E_CLOSED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.state == 'closed' then return {E_CLOSED} end
m.capacity = tonumber(ARGV[1])
redis.call('HSET', K_META, 'capacity', ARGV[1])
local n = maintain(m, now_ms(), 100, 0)
return {OK, n}
