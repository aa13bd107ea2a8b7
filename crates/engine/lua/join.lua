-- join: a buyer joins the schedule's waiting room, or gets their live ticket back (same buyer, same ticket).
-- Joining a paused queue is allowed (the buyer keeps a place; nobody is admitted until it resumes).
-- This is the hottest script of an on-sale, so the path of a new buyer is kept to the fewest calls: it
-- admits the buyer at once only when nobody else waits and a session is free; otherwise the head is
-- admitted by the queue's housekeeping (the next status call, or any stats call).
-- A buyer's live ticket is handed back only to its owner: the caller presents the ticket id, or is a
-- trusted server vouching for the buyer id ('*'); anyone else presenting the same buyer id (which may be
-- an email) gets E_NOT_OWNER and learns nothing of the ticket.
-- ARGV[1] buyer id (validated by the caller), ARGV[2] proof: '' | ticket id | '*' (trusted caller)
-- Returns {OK, ticket, state, rank, eta_ms, expires_at_ms, paused} | {E_NO_QUEUE} | {E_CLOSED} | {E_QUEUE_FULL}
--   | {E_NOT_OWNER}
local v = redis.call('HMGET', K_META, 'state', 'gen', 'secret', 'capacity', 'departed', 'session_ms')
if not v[1] then return {E_NO_QUEUE} end
if v[1] == 'closed' then return {E_CLOSED} end
local buyer = ARGV[1]
local seq = redis.call('INCR', K_SEQ)
if seq > MAX_SEQ then
  redis.call('DECR', K_SEQ) -- nothing else was written
  return {E_QUEUE_FULL}
end
if redis.call('HSETNX', K_BUY, buyer, seq) == 0 then
  -- A buyer we know: a live ticket is theirs again (with a heartbeat); otherwise a new one at the back.
  local prev = tonumber(redis.call('HGET', K_BUY, buyer))
  local st = slot_get(prev)
  -- An admitted ticket whose session already ended (not yet cleaned up) is not live: a new ticket.
  if st == ST_ADMITTED and not live_session(prev, now_ms()) then st = ST_EXPIRED end
  if st == ST_WAITING or st == ST_ADMITTED then
    redis.call('DECR', K_SEQ) -- nobody saw the number: give it back, the sequence stays dense
    local m = load_meta()
    local proof = ARGV[2] or ''
    if proof ~= '*' and proof ~= ticket_id(m, prev) then return {E_NOT_OWNER} end
    if st == ST_WAITING then slot_set(prev, ST_WAITING, now_ms()) end
    return ticket_reply(m, prev)
  end
  redis.call('HSET', K_BUY, buyer, seq)
end
local now = now_ms()
local m = {gen = v[2], secret = v[3]}
local id = ticket_id(m, seq)
-- Every ticket issued so far, this one included, either waits or has departed.
local waiting = seq - tonumber(v[5] or '0')
if v[1] == 'open' and waiting == 1 and redis.call('ZCARD', K_SESS) < tonumber(v[4]) then
  -- Nobody waits and a session is free: admitted at once (the admission clock stays stopped, as the
  -- queue was idle; see record_admissions).
  local expires = now + tonumber(v[6])
  slot_set(seq, ST_ADMITTED, now)
  redis.call('ZADD', K_SESS, int(expires), seq)
  redis.call('SETBIT', K_SBITS, seq, 1)
  redis.call('HINCRBY', K_META, 'admitted_total', 1)
  redis.call('HINCRBY', K_META, 'departed', 1) -- it never waited
  emit('your_turn', id, {expires_at = expires, session_ms = tonumber(v[6])}, now)
  return {OK, id, ST_ADMITTED, 0, 0, expires, 0}
end
redis.call('SETBIT', K_WAIT, seq, 1)
slot_set(seq, ST_WAITING, now)
-- The newest ticket is last in line: its rank is the queue size, no count needed.
return {OK, id, ST_WAITING, waiting, waiting * avg_ms(), 0, (v[1] == 'paused') and 1 or 0}
