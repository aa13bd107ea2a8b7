-- history: one sample of the queue's figures into its capped history stream, at most one per 10-second
-- slot whoever calls (every worker and console calls it; the slot is the entry id, so a second caller in
-- the same slot adds nothing). O(1): XADD with an approximate MAXLEN trims whole stream nodes.
-- KEYS[16] seatwise:history:{S}
-- No ARGV. Returns {OK, 1} when this call wrote the slot's sample, {OK, 0} when it was there already or
-- the queue is not live.
-- A sample's fields: q queue size, a active sessions, c capacity, m admissions in the last minute (at the
-- capacity now), b abandoned so far, w estimated wait of the last buyer in line (p50, ms), s seats left
-- (-1: not seat-aware), p 1 while paused.
local m = load_meta()
if not m or m.state == 'closed' then return {OK, 0} end
local now = now_ms()
local slot = math.floor(now / 10000) * 10000
local last = redis.call('XREVRANGE', KEYS[16], '+', '-', 'COUNT', 1)
if last[1] and tonumber(string.match(last[1][1], '^(%d+)')) >= slot then return {OK, 0} end
local per_min = est_report(now)
local ms, keep = est_rate(m.capacity, m.session_ms, m.outflow)
local wait = 0
if m.waiting > 0 then wait = est_p50(ms, keep, m.waiting) end
redis.call('XADD', KEYS[16], 'MAXLEN', '~', 17280, int(slot) .. '-0',
           'q', int(m.waiting), 'a', redis.call('ZCARD', K_SESS), 'c', int(m.capacity), 'm', int(per_min),
           'b', redis.call('HGET', K_META, 'abandoned_total') or '0', 'w', int(wait), 's', int(seats_left(m) or -1),
           'p', (m.state == 'paused') and 1 or 0)
return {OK, 1}
