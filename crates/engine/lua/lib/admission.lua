local function drop_waiting(m, seq, state)
  pre_departs(m, seq)
  est_done(seq, 0, false)
  redis.call('HINCRBY', K_META, 'dropped_total', 1) -- waited and never admitted (for the estimates)
  redis.call('SETBIT', K_WAIT, int(seq), 0)
  slot_state(seq, state)
  m.waiting = m.waiting - 1
end

-- Checks up to `budget` waiting tickets from the sweep cursor and drops the ones whose last heartbeat is
-- older than the abandonment window, so that abandoned buyers stop counting in the queue size.
local function sweep(m, now, budget)
  local tail = m.tail
  local cur = math.max(m.sweep, m.head)
  local dropped = 0
  for _ = 1, budget do
    if cur > tail then cur = m.head; break end
    local pos = redis.call('BITPOS', K_WAIT, 1, int(cur), int(tail), 'BIT')
    if pos < 0 then cur = m.head; break end
    local _, seen = slot_get(pos)
    if now - math.max(seen, m.resumed_ms) > m.abandon_ms then
      drop_waiting(m, pos, ST_ABANDONED)
      dropped = dropped + 1
    end
    cur = pos + 1
  end
  m.sweep = cur
  if dropped > 0 then redis.call('HINCRBY', K_META, 'abandoned_total', dropped) end
  return dropped
end

-- Admits one buyer from the head: skips (and counts as abandoned) tickets whose heartbeat lapsed.
-- Returns the admitted seq, or nil when nobody is waiting or the skip budget ran out.
local function admit_head(m, now, budget)
  local tail = m.tail
  local abandoned = 0
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
      drop_waiting(m, pos, ST_ABANDONED)
      abandoned = abandoned + 1
    else
      pre_departs(m, pos)
      redis.call('SETBIT', K_WAIT, int(pos), 0)
      m.waiting = m.waiting - 1
      local expires = now + m.session_ms
      slot_set(pos, ST_ADMITTED, now)
      est_done(pos, now, true)
      redis.call('ZADD', K_SESS, int(expires), int(pos))
      redis.call('SETBIT', K_SBITS, int(pos), 1)
      emit('your_turn', ticket_id(m, pos), {expires_at = expires, session_ms = m.session_ms}, now)
      admitted = pos
    end
  end
  if abandoned > 0 then redis.call('HINCRBY', K_META, 'abandoned_total', abandoned) end
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

-- The bounded housekeeping every call does: end due sessions, sweep abandoned buyers, fill free slots.
local function maintain(m, now, expire_budget, sweep_budget)
  expire_sessions(m, now, expire_budget)
  -- A paused queue keeps everyone's place: nobody is swept as abandoned while it is paused.
  if m.state == 'open' then sweep(m, now, sweep_budget) end
  local n = promote(m, now, nil)
  save_cursor(m)
  return n
end

