-- join: a buyer joins the schedule's waiting room, or gets their live ticket back (same buyer, same ticket).
-- Joining a paused queue is allowed (the buyer keeps a place; nobody is admitted until it resumes).
-- ARGV[1] buyer id (validated by the caller)
-- Returns {0, ticket, state, rank, eta_ms, expires_at_ms, paused} | {E_NO_QUEUE} | {E_CLOSED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.state == 'closed' then return {E_CLOSED} end
local now = now_ms()
local buyer = ARGV[1]
local prev = redis.call('HGET', K_BUY, buyer)
if prev then
  local seq = tonumber(prev)
  local st = slot_get(seq)
  if st == ST_WAITING then
    slot_set(seq, ST_WAITING, now)
    return ticket_reply(m, seq)
  elseif st == ST_ADMITTED then
    return ticket_reply(m, seq)
  end
end
local seq = redis.call('INCR', K_SEQ)
redis.call('SETBIT', K_WAIT, int(seq), 1)
slot_set(seq, ST_WAITING, now)
redis.call('HSET', K_BUY, buyer, int(seq))
m.waiting = redis.call('HINCRBY', K_META, 'waiting', 1)
if m.state == 'open' and redis.call('ZCARD', K_SESS) < m.capacity then
  maintain(m, now, 16, 0)
  return ticket_reply(m, seq)
end
-- The newest ticket is last in line: its rank is the queue size, no count needed.
local paused = (m.state == 'paused') and 1 or 0
return {OK, ticket_id(m, seq), ST_WAITING, m.waiting, m.waiting * avg_ms(), 0, paused}
