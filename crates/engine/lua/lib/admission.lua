local function drop_waiting(m, seq, state)
  pre_departs(m, seq)
  est_done(seq, 0, false)
  redis.call('HINCRBY', K_META, 'dropped_total', 1) -- waited and never admitted (for the estimates)
  redis.call('SETBIT', K_WAIT, int(seq), 0)
  slot_state(seq, state)
  m.waiting = m.waiting - 1
end

-- The buyer of waiting ticket `seq` was not there when their turn came: they leave the line (their place
-- is given to the next) and may come back until now + grace (come_back), to be admitted ahead of the line.
local function miss_turn(m, seq, now)
  pre_departs(m, seq)
  est_done(seq, 0, false)
  redis.call('SETBIT', K_WAIT, int(seq), 0)
  m.waiting = m.waiting - 1
  local until_ms = now + m.grace_ms
  slot_set(seq, ST_MISSED, now)
  redis.call('ZADD', K_MISS, int(until_ms), int(seq))
  redis.call('HINCRBY', K_META, 'missed_total', 1)
  -- For the estimates the buyer left the line here (took no admission); one who comes back takes one later.
  redis.call('HINCRBY', K_META, 'dropped_total', 1)
  emit('turn_missed', ticket_id(m, seq), {grace_until = until_ms}, now)
end

-- Ends the grace windows that are over, at most `limit` of them: those buyers did not come back in time and
-- are counted as abandoned (what abandonment means now).
local function expire_missed(m, now, limit)
  local due = redis.call('ZRANGEBYSCORE', K_MISS, '-inf', int(now), 'LIMIT', 0, limit)
  for _, s in ipairs(due) do
    redis.call('ZREM', K_MISS, s)
    slot_state(tonumber(s), ST_ABANDONED)
    emit('turn_lost', ticket_id(m, tonumber(s)), {}, now)
  end
  if #due > 0 then redis.call('HINCRBY', K_META, 'abandoned_total', #due) end
  return #due
end

-- A buyer who missed their turn is back (a status call or a join with proof): within the grace window they
-- wait ahead of the line, earliest back first (ST_BACK); after it their ticket is abandoned. Returns the
-- ticket's state afterwards.
local function come_back(m, seq, now)
  local until_ms = tonumber(redis.call('ZSCORE', K_MISS, int(seq)) or '0')
  redis.call('ZREM', K_MISS, int(seq))
  if until_ms < now then
    slot_state(seq, ST_ABANDONED)
    redis.call('HINCRBY', K_META, 'abandoned_total', 1)
    return ST_ABANDONED
  end
  slot_set(seq, ST_BACK, now)
  redis.call('ZADD', K_BACK, int(now), int(seq))
  m.waiting = m.waiting + 1 -- it waits again: one fewer departed (save_cursor writes it)
  redis.call('HINCRBY', K_META, 'departed', -1)
  return ST_BACK
end

-- Gives ticket `seq` (no longer waiting) a session now and tells the buyer.
local function start_session(m, seq, now)
  local expires = now + m.session_ms
  slot_set(seq, ST_ADMITTED, now)
  est_done(seq, now, true)
  redis.call('ZADD', K_SESS, int(expires), int(seq))
  redis.call('SETBIT', K_SBITS, int(seq), 1)
  emit('your_turn', ticket_id(m, seq), {expires_at = expires, session_ms = m.session_ms}, now)
end

-- Admits one buyer: first whoever came back after missing their turn (earliest first), then the head of
-- the line. A buyer at the head without a heartbeat within the presence window (`abandon_ms`) is not
-- there: they miss their turn (miss_turn) and the next one is tried. Returns the admitted seq, or nil when
-- nobody is waiting or the step budget ran out.
local function admit_head(m, now, budget)
  local back = redis.call('ZPOPMIN', K_BACK)
  if back[1] then
    budget.n = budget.n - 1
    m.waiting = m.waiting - 1
    start_session(m, tonumber(back[1]), now)
    return tonumber(back[1])
  end
  local tail = m.tail
  local admitted = nil
  while budget.n > 0 and m.waiting > 0 and not admitted do
    budget.n = budget.n - 1
    local pos
    if m.draw_n > 0 and m.draw_head <= m.draw_n then
      -- The drawn pre-queue goes first, in the order of the draw; a place whose ticket left is skipped.
      pos = perm_inv(m, m.draw_head)
      m.draw_head = m.draw_head + 1
      if redis.call('GETBIT', K_WAIT, int(pos)) == 0 then pos = nil end
    else
      pos = redis.call('BITPOS', K_WAIT, 1, int(m.head), int(tail), 'BIT')
      if pos < 0 then
        -- The counter says someone waits but no bit is set: an invariant is broken.
        error('seatwise: waiting counter is ' .. m.waiting .. ' but no waiting ticket from ' .. m.head)
      end
      m.head = pos + 1
    end
    local seen = pos and select(2, slot_get(pos))
    if not pos then
      -- nothing to admit at this place
    elseif now - math.max(seen, m.resumed_ms) > m.abandon_ms then
      miss_turn(m, pos, now)
    else
      pre_departs(m, pos)
      redis.call('SETBIT', K_WAIT, int(pos), 0)
      m.waiting = m.waiting - 1
      start_session(m, pos, now)
      admitted = pos
    end
  end
  return admitted
end

-- Folds `n` admissions at `now` into the moving mean time between admissions (EMA, alpha 0.2). The clock
-- only runs while buyers wait: an idle or paused queue resets it, so idle time is not counted as service.
local function record_admissions(m, n, now)
  if n <= 0 then return end
  redis.call('HINCRBY', K_META, 'admitted_total', n)
  est_count(m, n, now)
  if m.last_admit_ms > 0 and now > m.last_admit_ms then
    local interval = (now - m.last_admit_ms) / n
    local avg = tonumber(redis.call('GET', K_AVG) or '60000')
    redis.call('SET', K_AVG, int(math.floor(avg * 0.8 + interval * 0.2 + 0.5)))
  end
  m.last_admit_ms = now
end

-- The outflow limit (admissions per minute, 0 = none) as a GCRA: admissions are spaced 60000/outflow ms
-- apart, with a burst of one second's worth (at least 1), so any 60 s holds at most outflow + burst.
-- Takes one admission's slot when there is one; `m.of_tat` is the theoretical arrival time.
local function outflow_slot(m, now)
  if m.outflow <= 0 then return true end
  local interval = 60000 / m.outflow
  local burst = math.max(1, math.ceil(m.outflow / 60))
  local tat = math.max(m.of_tat, now)
  if tat - now > (burst - 1) * interval then return false end
  m.of_tat = tat + interval
  return true
end

-- Seats neither sold nor held, for a queue that knows its seat count (`seats_total` > 0; else nil).
local function seats_left(m)
  if m.seats_total <= 0 then return nil end
  return m.seats_total - redis.call('HLEN', K_SOLD) - redis.call('HLEN', K_HOLD)
end

-- Admits buyers while sessions are free (or `force` more regardless of capacity), within the outflow
-- limit and, for a seat-aware queue, only while seats are left. Staff's `force` ignores both limits.
local function promote(m, now, force)
  if m.state ~= 'open' then return 0 end
  local want
  if force then want = force else want = m.capacity - redis.call('ZCARD', K_SESS) end
  local n = 0
  -- At most 250 steps per call: an admission writes ~7 commands (and a step through a drawn pre-queue costs
  -- a few SHA-1s more), so a call stays well under 10 ms; the caller (or the next call) goes on.
  local budget = {n = 250}
  local tat = m.of_tat
  while n < want and m.waiting > 0 and budget.n > 0 do
    if not force then
      local left = seats_left(m)
      if left and left <= 0 then break end
      if not outflow_slot(m, now) then break end
    end
    if not admit_head(m, now, budget) then
      m.of_tat = tat -- nobody was admitted: give the slot back
      break
    end
    tat = m.of_tat
    n = n + 1
  end
  if m.of_tat ~= tat then m.of_tat = tat end
  if m.outflow > 0 and n > 0 then redis.call('HSET', K_META, 'of_tat', int(m.of_tat)) end
  record_admissions(m, n, now)
  if m.waiting == 0 then m.last_admit_ms = 0 end
  return n
end

-- The bounded housekeeping every call does: end due sessions and grace windows, fill free slots. Nobody
-- waiting is ever dropped for not polling: presence is asked for only at the front (admit_head).
local function maintain(m, now, expire_budget, miss_budget)
  expire_sessions(m, now, expire_budget)
  -- A paused queue keeps everyone's place: no grace window ends while it is paused.
  if m.state == 'open' then expire_missed(m, now, miss_budget) end
  local n = promote(m, now, nil)
  save_cursor(m)
  return n
end

