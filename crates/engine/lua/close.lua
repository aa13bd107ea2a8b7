-- close: the CLOSED / CANCELLED effect. Ends the generation without ever blocking Redis, whatever its size:
-- the waiting bitmap (with the sessions' bitmap merged in by one BITOP: O(bitmap bytes), never a loop
-- over sessions) is renamed to the drain key, so the buyers to be
-- told stay recorded until the outbox worker has told each one; everything else is UNLINKed (freed in the
-- background). Sold seats are kept.
-- KEYS[16] seatwise:closing:{S}:<gen>  the drain bitmap of this generation
-- ARGV[1] reason ('closed' | 'cancelled'), ARGV[2] gen the caller read (guards KEYS[16]),
-- ARGV[3] the show's version of this change ('' = not ordered)
-- Returns {OK, gen, buyers_to_tell} | {E_ALREADY} | {E_NO_QUEUE} | {E_STALE, gen} | {E_SUPERSEDED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if superseded(ARGV[3]) then return {E_SUPERSEDED} end
if m.state == 'closed' then
  mark_version(ARGV[3])
  return {E_ALREADY}
end
if tonumber(ARGV[2]) ~= m.gen then return {E_STALE, m.gen} end
mark_version(ARGV[3])
local now = now_ms()
-- Buyers who missed their turn (still in their grace window) or came back are told too: one SETBIT each
-- (they are few: only buyers absent at the front, for a few minutes each).
local away = 0
for _, k in ipairs({K_MISS, K_BACK}) do
  for _, s in ipairs(redis.call('ZRANGE', k, 0, -1)) do
    redis.call('SETBIT', K_WAIT, s, 1)
    away = away + 1
  end
end
local told = m.waiting + redis.call('ZCARD', K_SESS) - redis.call('ZCARD', K_BACK) + away
redis.call('BITOP', 'OR', K_WAIT, K_WAIT, K_SBITS)
if redis.call('EXISTS', K_WAIT) == 1 then redis.call('RENAME', K_WAIT, KEYS[16]) end
redis.call('UNLINK', K_TICK, K_BUY, K_SESS, K_SBITS, K_HOLD, K_SSEAT, K_EST, K_MISS, K_BACK)
redis.call('HSET', K_META, 'state', 'closed', 'closed_reason', ARGV[1], 'closed_ms', int(now), 'departed', int(m.tail),
           'last_admit_ms', 0)
-- Two entries: the public event (sent once, like any other), then the drain work for the worker, which stays
-- pending while it tells the generation's buyers slice by slice.
emit('queue_closed', '', {reason = ARGV[1], gen = m.gen}, now)
emit('queue_drain', '', {reason = ARGV[1], gen = m.gen, buyers = told, secret = m.secret, epochs = m.epochs or ''},
     now)
return {OK, m.gen, told}
