-- Parses ARGV ticket parts (gen, seq, tag) and checks them against this generation; `owner`, when given
-- and not '', is the buyer the caller acts for (the gateway): the ticket must be that buyer's latest one.
-- Returns seq, or a negative code: E_CLOSED for another generation or a closed queue, E_UNKNOWN_TICKET,
-- E_NOT_OWNER.
local function check_ticket(m, gen, seq, tag, owner)
  if not m or m.state == 'closed' or tonumber(gen) ~= m.gen then return E_CLOSED end
  seq = tonumber(seq)
  if not seq or seq < 1 or seq > m.tail or ticket_tag(m, seq) ~= tag then return E_UNKNOWN_TICKET end
  if owner and owner ~= '' and tonumber(redis.call('HGET', K_BUY, owner) or '0') ~= seq then
    return E_NOT_OWNER
  end
  return seq
end

-- A waiting ticket's rank. While a drawn pre-queue is being admitted, its tickets' ranks are their places
-- in the draw scaled by the share of the pre-queue still waiting (exact until some of them leave), and
-- later arrivals come after all of the pre-queue still waiting.
local function rank_of(m, seq)
  if m.draw_n > 0 and m.draw_head <= m.draw_n then
    local pre = m.draw_left
    if seq > m.draw_n then
      return redis.call('ZCARD', K_BACK) + pre + redis.call('BITCOUNT', K_WAIT, int(m.draw_n + 1), int(seq), 'BIT')
    end
    local place = feistel(m.draw_seed, m.draw_n, seq - 1, false) + 1 - m.draw_head + 1
    local span = m.draw_n - m.draw_head + 1
    return redis.call('ZCARD', K_BACK) + math.max(1, math.min(pre, math.ceil(place * pre / span)))
  end
  -- Buyers who came back after missing their turn go first.
  return redis.call('ZCARD', K_BACK) + redis.call('BITCOUNT', K_WAIT, int(m.head), int(seq), 'BIT')
end

local function avg_ms()
  return tonumber(redis.call('GET', K_AVG) or '60000')
end

-- The reply for one ticket: {OK, ticket, state, rank, eta_ms, expires_at_ms, paused, back}. A buyer back
-- after missing their turn is shown waiting (back = 1), ranked among those back; a missed ticket's
-- expires_at_ms is the end of its grace window.
local function ticket_reply(m, seq)
  local st = slot_get(seq)
  local id = ticket_id(m, seq)
  local paused = (m.state == 'paused') and 1 or 0
  if m.state == 'prequeue' then
    -- Places are drawn at the opening: until then every pre-queue ticket is "in the pre-queue" (paused 2).
    if st == ST_WAITING then return {OK, id, st, m.waiting, 0, 0, 2, 0} end
    return {OK, id, st, 0, 0, 0, 2, 0}
  end
  if st == ST_WAITING then
    local rank = rank_of(m, seq)
    return {OK, id, st, rank, rank * avg_ms(), 0, paused, 0}
  elseif st == ST_BACK then
    local rank = redis.call('ZRANK', K_BACK, int(seq)) + 1
    return {OK, id, ST_WAITING, rank, rank * avg_ms(), 0, paused, 1}
  elseif st == ST_ADMITTED then
    return {OK, id, st, 0, 0, tonumber(redis.call('ZSCORE', K_SESS, int(seq)) or '0'), paused, 0}
  elseif st == ST_MISSED then
    return {OK, id, st, 0, 0, tonumber(redis.call('ZSCORE', K_MISS, int(seq)) or '0'), paused, 0}
  end
  return {OK, id, st, 0, 0, 0, paused, 0}
end

-- The buyer of ticket `seq` is here (a status call, or a join with proof): a waiting ticket's heartbeat
-- is recorded; a buyer who missed their turn comes back (come_back). Returns true when they came back
-- (one fewer departed: a batch of joins keeps its count current).
local function present(m, seq, now)
  local st = slot_get(seq)
  if st == ST_WAITING or st == ST_BACK then
    slot_set(seq, st, now)
  elseif st == ST_MISSED then
    return come_back(m, seq, now) == ST_BACK
  end
  return false
end

-- Status changes carry the show's version: an effect older than the last one applied to this queue (two
-- consoles' changes racing) is refused, so the queue always ends in the state of the newest change.
-- `v` is '' for staff actions on the queue itself (pause/resume buttons), which are not ordered by version.
local function superseded(v)
  if v == nil or v == '' then return false end
  return tonumber(v) < tonumber(redis.call('HGET', K_META, 'show_version') or '0')
end

local function mark_version(v)
  if v ~= nil and v ~= '' then redis.call('HSET', K_META, 'show_version', v) end
end

-- Session expiry of an admitted ticket, or nil when it has no live session at `now`.
local function live_session(seq, now)
  if slot_get(seq) ~= ST_ADMITTED then return nil end
  local exp = tonumber(redis.call('ZSCORE', K_SESS, int(seq)) or '0')
  if exp <= now then return nil end
  return exp
end

-- The opening of a session's seat calls (hold, release, complete): the ticket is checked (and its owner),
-- its session must be live. Returns m, seq, now, expires; or nil and the reply refusing the call.
local function session_call(gen, seq, tag, owner)
  local m = load_meta()
  local s = check_ticket(m, gen, seq, tag, owner)
  if s < 0 then return nil, {s} end
  local now = now_ms()
  local expires = live_session(s, now)
  if not expires then return nil, {E_NO_SESSION} end
  return m, s, now, expires
end

-- Reopens a paused queue. Buyers who stopped polling while it was paused get a full abandonment window
-- from now to come back (their heartbeats count as if made at the resume).
local function resume(m, now)
  m.state = 'open'
  m.last_admit_ms = 0
  m.resumed_ms = now
  redis.call('HSET', K_META, 'state', 'open', 'resumed_ms', int(now))
  redis.call('HDEL', K_META, 'paused_ms')
  -- Buyers who missed their turn get a full grace window from now too (no window ends while paused).
  for _, s in ipairs(redis.call('ZRANGE', K_MISS, 0, -1)) do
    redis.call('ZADD', K_MISS, 'GT', int(now + m.grace_ms), s)
  end
  emit('queue_resumed', '', {}, now)
  maintain(m, now, 100, 0)
end

-- The monitoring figures of stats.lua and stats-ro.lua (see their headers for the reply) at `now` (ms).
local function stats_reply(m, outbox, now)
  local c = redis.call('HMGET', K_META, 'admitted_total', 'abandoned_total', 'completed_total', 'expired_total',
                       'left_total', 'removed_total', 'opened_ms', 'closed_reason', 'outbox_dropped',
                       'pow_bits', 'seats_sold_gen', 'draw_commit', 'draw_revealed', 'missed_total',
                       'announce_text', 'announce_ms', 'paused_ms')
  local function n(x) return tonumber(x or '0') end
  local ms, keep = est_rate(m.capacity, m.session_ms, m.outflow)
  local per_min, err, scored, q10, q90 = est_report(now)
  return {OK, m.state, m.gen, m.waiting, redis.call('ZCARD', K_SESS), m.capacity, avg_ms(), n(c[1]), n(c[2]),
          n(c[3]), n(c[4]), n(c[5]), n(c[6]), outbox, m.session_ms, m.abandon_ms, m.tail, n(c[7]),
          c[8] or '', m.max_seats, n(c[9]), n(c[10]), m.outflow, m.seats_total, seats_left(m) or 0, n(c[11]),
          c[12] or '', c[13] and m.draw_seed or '', m.draw_n, ms, keep, per_min, err, scored, q10, q90,
          redis.call('ZCARD', K_MISS), redis.call('ZCARD', K_BACK), n(c[14]), m.grace_ms, c[15] or '', n(c[16]),
          n(c[17]), redis.call('HEXISTS', K_EST, 'ms')}
end

-- One buyer's join (join.lua, join-many.lua). `v` is the queue meta as join reads it: HMGET of state, gen,
-- secret, capacity, departed, session_ms, outflow, seats_total, epochs, replid (v[5] is kept current across
-- the buyers of one batch; v.epochs is what guard_epoch returned).
-- The path of a new buyer is kept to the fewest calls: it admits the buyer at once only when nobody else
-- waits and a session is free; otherwise the head is admitted by the queue's housekeeping (the next
-- status call, or any stats call). A buyer's live ticket is handed back only to its owner: `proof` is the
-- ticket id, or '*' from a trusted caller vouching for the buyer id; anyone else presenting the same buyer
-- id (which may be an email) gets E_NOT_OWNER and learns nothing of the ticket.
-- Returns {OK, ticket, state, rank, eta_ms, expires_at_ms, paused, back} | {E_QUEUE_FULL} | {E_NOT_OWNER}
local function join_one(v, buyer, proof)
  local seq = redis.call('INCR', K_SEQ)
  if seq > MAX_SEQ then
    redis.call('DECR', K_SEQ) -- nothing else was written
    return {E_QUEUE_FULL}
  end
  if redis.call('HSETNX', K_BUY, buyer, seq) == 0 then
    -- A buyer we know: a live ticket is theirs again (with a heartbeat); otherwise a new one at the back.
    local prev = tonumber(redis.call('HGET', K_BUY, buyer))
    local st = slot_get(prev)
    -- An admitted ticket whose session already ended (not yet cleaned up) is not live: a new ticket. A
    -- buyer who missed their turn is live until their grace window ends (present: back ahead of the line).
    if st == ST_ADMITTED and not live_session(prev, now_ms()) then st = ST_EXPIRED end
    if st == ST_MISSED and tonumber(redis.call('ZSCORE', K_MISS, prev) or '0') < now_ms() then st = ST_ABANDONED end
    if st == ST_WAITING or st == ST_ADMITTED or st == ST_MISSED or st == ST_BACK then
      redis.call('DECR', K_SEQ) -- nobody saw the number: give it back, the sequence stays dense
      local m = load_meta()
      if proof ~= '*' and proof ~= ticket_id(m, prev) then return {E_NOT_OWNER} end
      if present(m, prev, now_ms()) then v[5] = tostring(tonumber(v[5] or '0') - 1) end
      return ticket_reply(m, prev)
    end
    redis.call('HSET', K_BUY, buyer, seq)
  end
  local now = now_ms()
  local id = ticket_id({gen = v[2], secret = v[3], epochs = v.epochs}, seq)
  -- Every ticket issued so far, this one included, either waits or has departed.
  local waiting = seq - tonumber(v[5] or '0')
  -- (A queue with an outflow limit or a seat count leaves even that to the housekeeping, which applies them.)
  if v[1] == 'open' and waiting == 1 and not v[7] and not v[8] and redis.call('ZCARD', K_SESS) < tonumber(v[4]) then
    -- Nobody waits and a session is free: admitted at once (the admission clock stays stopped, as the
    -- queue was idle; see record_admissions).
    local expires = now + tonumber(v[6])
    slot_set(seq, ST_ADMITTED, now)
    redis.call('ZADD', K_SESS, int(expires), seq)
    redis.call('SETBIT', K_SBITS, seq, 1)
    redis.call('HINCRBY', K_META, 'admitted_total', 1)
    redis.call('HINCRBY', K_META, 'departed', 1) -- it never waited
    v[5] = tostring(tonumber(v[5] or '0') + 1)
    emit('your_turn', id, {expires_at = expires, session_ms = tonumber(v[6])}, now)
    return {OK, id, ST_ADMITTED, 0, 0, expires, 0, 0}
  end
  redis.call('SETBIT', K_WAIT, seq, 1)
  slot_set(seq, ST_WAITING, now)
  -- The newest ticket is last in line: its rank is the queue size, no count needed.
  if v[1] == 'prequeue' then return {OK, id, ST_WAITING, waiting, 0, 0, 2, 0} end
  if v[1] == 'open' then est_sample(seq, waiting, now, tonumber(v[4]), tonumber(v[6]), tonumber(v[7] or '0')) end
  -- The newest ticket is last in line: its rank is the queue size (those back after missing their turn
  -- included), no count needed.
  return {OK, id, ST_WAITING, waiting, waiting * avg_ms(), 0, (v[1] == 'paused') and 1 or 0, 0}
end
