-- outflow: staff set a queue's outflow limit, in admissions per minute (0 = none), live.
-- ARGV[1] admissions per minute (0..=MAX, checked by the caller)
-- Returns {OK, previous limit} | {E_NO_QUEUE} | {E_CLOSED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.state == 'closed' then return {E_CLOSED} end
local prev = m.outflow
if tonumber(ARGV[1]) > 0 then
  redis.call('HSET', K_META, 'outflow', ARGV[1])
else
  redis.call('HDEL', K_META, 'outflow', 'of_tat')
end
m.outflow = tonumber(ARGV[1])
maintain(m, now_ms(), 100, 0)
return {OK, prev}
