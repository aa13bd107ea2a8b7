-- stats-ro: stats.lua for watch-only connections: the same figures without the housekeeping, so it only
-- reads and runs by EVALSHA_RO (a Redis ACL user limited to reads, Upstash's read-only token). The figures
-- are as fresh as the last housekeeping by a buyer call, a staff console or a running worker (every 5 s).
-- O(1) in the queue size. ARGV[1] the caller's clock (ms): a read-only user may not call TIME.
-- Returns what stats.lua returns.
local m = load_meta()
local outbox = redis.call('XLEN', K_OUT)
if not m then return {E_NO_QUEUE, outbox} end
return stats_reply(m, outbox, tonumber(ARGV[1]))
