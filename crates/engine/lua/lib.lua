-- lib.lua: shared helpers for the queue scripts. Not a script on its own: scripts.rs links each script
-- with the header below and only the `local function` blocks it uses (directly or through other blocks),
-- because Redis runs a script's whole body on every call and defining unused functions costs time.
--
-- Every queue script receives the same KEYS, all carrying the schedule's hash tag {<showId>:<schedId>}:
--   KEYS[1]  seatwise:queue:{S}                   HASH   queue meta (state, gen, secret, settings, counters);
--                                                        the queue size is derived: seq - departed
--   KEYS[2]  seatwise:seq:{S}                     STRING last issued ticket sequence (starts at 0)
--   KEYS[3]  seatwise:metrics:avg_service_ms:{S}  STRING moving mean time between admissions (starts at 60000)
--   KEYS[4]  seatwise:waiting:{S}                 STRING bitmap: bit <seq> is 1 while that ticket waits
--   KEYS[5]  seatwise:tickets:{S}                 STRING BITFIELD: one i64 per seq = last-seen ms * 256 + state
--   KEYS[6]  seatwise:buyers:{S}                  HASH   buyer id -> seq of the buyer's latest ticket
--   KEYS[7]  seatwise:sessions:{S}                ZSET   seq -> session expiry (ms)
--   KEYS[8]  seatwise:outbox:{S}                  STREAM events buyers must be told (drained to Ably)
--   KEYS[9]  seatwise:session_bits:{S}            STRING bitmap: bit <seq> is 1 while that ticket holds a session
--                                                        (kept with the sessions ZSET, so a close merges it with one BITOP)
--   KEYS[10] seatwise:estimates:{S}               HASH   the wait estimate's measurements (see est_count):
--                                                        w<s mod 120> admissions per second and place, ms / keep the
--                                                        figures estimates use, j<seq> sampled estimates
--                                                        shown at join, e<i> their recent relative errors
--   KEYS[11] seatwise:holds:{S}                   HASH   seat id -> seq holding it
--   KEYS[12] seatwise:session_seats:{S}           HASH   seq -> space-separated seat ids it holds
--   KEYS[13] seatwise:sold:{S}                    HASH   seat id -> "<gen>.<seq>" that bought it (kept across generations)
-- join.lua, the hottest script, is given only KEYS[1..10] (the seat keys are nil there and unused).
-- Scripts return a flat array whose first element is a code: OK (0) = done, a negative E_* = an expected
-- outcome that scripts.rs maps to an error in one place. The codes are defined once, in scripts.rs
-- (RESULT_CODES), which puts a `local` line with the ones each script uses before it: never write a bare
-- number for a code here. error() is kept for broken invariants only.

local K_META, K_SEQ, K_AVG, K_WAIT, K_TICK = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_BUY, K_SESS, K_OUT, K_SBITS = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_EST, K_HOLD, K_SSEAT, K_SOLD = KEYS[10], KEYS[11], KEYS[12], KEYS[13]

-- Ticket slots live at bit seq*64 of a string, which Redis caps at 512 MB: 2^26 tickets per generation.
local MAX_SEQ = 67108863

-- Ticket states, stored in the low byte of each ticket slot.
local ST_NONE, ST_WAITING, ST_ADMITTED, ST_COMPLETED = 0, 1, 2, 3
local ST_EXPIRED, ST_ABANDONED, ST_LEFT, ST_REMOVED = 4, 5, 6, 7

local SCHEMA = 1

-- Wait estimates: admissions are counted per second over the last EST_SECS seconds; the time per admission
-- is measured over the newest seconds that hold at least EST_MIN admissions and span EST_SPAN ms. One
-- ticket in EST_SAMPLE (by seq) records the estimate shown at join, at most EST_PENDING at a time; the
-- last EST_ERRORS relative errors are kept for the median.
local EST_SECS, EST_MIN, EST_SPAN = 120, 30, 5000
local EST_SAMPLE, EST_PENDING, EST_ERRORS = 64, 2048, 128

-- The most entries a queue's outbox keeps before buyers' private events are counted instead (see emit).
local OUTBOX_CAP = 100000

-- Integers are always passed to Redis as "%d" text: Lua's default number formatting would turn 1.7e12 into
-- an exponent that Redis rejects.
local function int(n) return string.format('%d', n) end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Returns the queue meta as a table, or nil when the queue was never opened.
local function load_meta()
  local META_FIELDS = {'state', 'gen', 'secret', 'capacity', 'session_ms', 'abandon_ms', 'max_seats',
                       'head', 'sweep', 'departed', 'last_admit_ms', 'resumed_ms', 'outflow', 'of_tat',
                       'seats_total', 'draw_n', 'draw_head', 'draw_seed', 'draw_left'}
  local v = redis.call('HMGET', K_META, unpack(META_FIELDS))
  if not v[1] then return nil end
  local m = {}
  for i, f in ipairs(META_FIELDS) do m[f] = v[i] end
  for _, f in ipairs({'gen', 'capacity', 'session_ms', 'abandon_ms', 'max_seats', 'head', 'sweep',
                      'departed', 'last_admit_ms', 'resumed_ms', 'outflow', 'of_tat', 'seats_total', 'draw_n',
                      'draw_head', 'draw_left'}) do
    m[f] = tonumber(m[f] or '0')
  end
  -- The queue size is not stored: every ticket issued (seq) either waits or has departed. So join, the
  -- hottest script, never writes the meta hash.
  m.tail = tonumber(redis.call('GET', K_SEQ) or '0')
  m.waiting = m.tail - m.departed
  return m
end

local function save_cursor(m)
  redis.call('HSET', K_META, 'head', int(m.head), 'sweep', int(m.sweep), 'departed', int(m.tail - m.waiting),
             'last_admit_ms', int(m.last_admit_ms))
  if m.draw_n > 0 then redis.call('HSET', K_META, 'draw_head', int(m.draw_head)) end
end

-- The pre-queue draw (docs/PROTOCOL.md, "Provably fair draw"): the N tickets of the pre-queue are admitted
-- in the order of a keyed permutation of 1..N, so nothing is sorted and each step is O(1). The permutation
-- is a 4-round balanced Feistel network over 2h-bit numbers (4^h >= N), round function the first 8 hex
-- digits of SHA-1("<seed>:<round>:<half>") mod 2^h, with cycle walking to stay within 0..N-1. perm maps a
-- ticket's seq to its position (both from 1); perm_inv maps a position to the seq there.
local function feistel(seed, n, x, inverse)
  local h = 1
  while 4 ^ h < n do h = h + 1 end
  local size = 2 ^ h
  local function f(i, v) return tonumber(string.sub(redis.sha1hex(seed .. ':' .. i .. ':' .. v), 1, 8), 16) % size end
  repeat
    local l, r = math.floor(x / size), x % size
    if inverse then
      for i = 4, 1, -1 do l, r = bit.bxor(r, f(i, l)), l end
    else
      for i = 1, 4 do l, r = r, bit.bxor(l, f(i, r)) end
    end
    x = l * size + r
  until x < n
  return x
end

local function perm_inv(m, pos)
  return feistel(m.draw_seed, m.draw_n, pos - 1, true) + 1
end

local function ticket_tag(m, seq)
  return string.sub(redis.sha1hex(m.secret .. ':' .. m.gen .. ':' .. seq), 1, 16)
end

local function ticket_id(m, seq)
  return m.gen .. '.' .. seq .. '.' .. ticket_tag(m, seq)
end

-- A ticket slot is one i64 at bit offset seq*64 holding last_seen_ms * 256 + state (exact in a Lua
-- double until the year 2527), so a join writes it with one BITFIELD op; the state alone is the slot's
-- last byte. Returns state, last_seen_ms.
local function slot_get(seq)
  local v = redis.call('BITFIELD', K_TICK, 'GET', 'i64', int(seq * 64))[1]
  local state = v % 256
  return state, (v - state) / 256
end

local function slot_set(seq, state, seen)
  redis.call('BITFIELD', K_TICK, 'SET', 'i64', int(seq * 64), int(seen * 256 + state))
end

local function slot_state(seq, state)
  redis.call('BITFIELD', K_TICK, 'SET', 'u8', int(seq * 64 + 56), state)
end

-- Appends an event to the outbox, in the same atomic step as the change that causes it.
-- kind: the event name; ticket: the buyer's ticket id for a private event, '' for the public channel.
-- The outbox is bounded: when it holds the queue's cap (OUTBOX_CAP, or the meta field `outbox_cap` a Redis
-- admin may set) because no worker is running, a buyer's private event is not recorded but counted in
-- `outbox_dropped` (shown by the monitor); the buyer still learns it by polling. Queue-wide events (a few
-- per staff action) are always recorded.
local function emit(kind, ticket, data, now)
  data.v = SCHEMA
  data.at = now
  if ticket ~= '' then
    local cap = tonumber(redis.call('HGET', K_META, 'outbox_cap') or OUTBOX_CAP)
    if redis.call('XLEN', K_OUT) >= cap then
      redis.call('HINCRBY', K_META, 'outbox_dropped', 1)
      return
    end
  end
  redis.call('XADD', K_OUT, '*', 'type', kind, 'ticket', ticket, 'data', cjson.encode(data))
end

-- The seats of `seats` that are not in the queue's seat map (none when the queue does not know its map).
-- A seat id is a row label followed by a number from 1 to seats_per_row, without leading zeros.
local function seats_outside_map(seats)
  local map = redis.call('HMGET', K_META, 'seat_rows', 'seats_per_row')
  if not map[1] then return {} end
  local per_row = tonumber(map[2]) or 0
  local rows = {}
  for r in string.gmatch(map[1], '%S+') do rows[#rows + 1] = r end
  local out = {}
  for _, seat in ipairs(seats) do
    local found = false
    for _, r in ipairs(rows) do
      if string.sub(seat, 1, #r) == r then
        local n = string.sub(seat, #r + 1)
        if string.match(n, '^[1-9]%d*$') and tonumber(n) <= per_row then found = true; break end
      end
    end
    if not found then out[#out + 1] = seat end
  end
  return out
end

-- The seats a session holds, as a list.
local function held_seats(seq)
  local out = {}
  local seats = redis.call('HGET', K_SSEAT, int(seq))
  if seats then for seat in string.gmatch(seats, '%S+') do out[#out + 1] = seat end end
  return out
end

local function release_seats(seq)
  for _, seat in ipairs(held_seats(seq)) do
    if redis.call('HGET', K_HOLD, seat) == int(seq) then redis.call('HDEL', K_HOLD, seat) end
  end
  redis.call('HDEL', K_SSEAT, int(seq))
end

-- Ends the sessions that are due, at most `limit` of them, releasing their holds.
local function expire_sessions(m, now, limit)
  local due = redis.call('ZRANGEBYSCORE', K_SESS, '-inf', int(now), 'LIMIT', 0, limit)
  for _, s in ipairs(due) do
    local seq = tonumber(s)
    release_seats(seq)
    redis.call('ZREM', K_SESS, s)
    redis.call('SETBIT', K_SBITS, int(seq), 0)
    slot_state(seq, ST_EXPIRED)
    emit('session_expired', ticket_id(m, seq), {}, now)
  end
  if #due > 0 then redis.call('HINCRBY', K_META, 'expired_total', #due) end
  return #due
end

-- A waiting ticket of a drawn pre-queue departs: one fewer of the pre-queue waits (kept as a counter so a
-- rank never counts the pre-queue's bits).
local function pre_departs(m, seq)
  if m.draw_n > 0 and seq <= m.draw_n then
    m.draw_left = m.draw_left - 1
    redis.call('HINCRBY', K_META, 'draw_left', -1)
  end
end

-- The figures wait estimates use: the measured time per admission (scaled to the capacity now, when it
-- changed since the measurement; never faster than the outflow limit allows; before anything was measured,
-- a full session per free place) and the share of buyers ahead who will be admitted (keep, in millionths).
local function est_rate(capacity, session_ms, outflow)
  local v = redis.call('HMGET', K_EST, 'ms', 'keep', 'mcap')
  local ms = tonumber(v[1] or '0')
  capacity = math.max(capacity, 1)
  if ms <= 0 then ms = session_ms / capacity else ms = ms * tonumber(v[3] or capacity) / capacity end
  if outflow > 0 then ms = math.max(ms, 60000 / outflow) end
  return math.floor(ms + 0.5), tonumber(v[2] or '1000000')
end

-- The p50 wait of the buyer at `rank` (docs/PROTOCOL.md, "Wait estimates"; QueueStats::eta_range in Rust
-- computes the same from the stats figures).
local function est_p50(ms, keep, rank)
  return math.floor(((rank - 1) * keep / 1000000 + 1) * ms)
end

-- Records the estimate shown to a sampled ticket joining at `rank` (one in EST_SAMPLE, EST_PENDING at most).
local function est_sample(seq, rank, now, capacity, session_ms, outflow)
  if seq % EST_SAMPLE ~= 0 or rank < 1 then return end
  if tonumber(redis.call('HGET', K_EST, 'sn') or '0') >= EST_PENDING then return end
  local ms, keep = est_rate(capacity, session_ms, outflow)
  redis.call('HSET', K_EST, 'j' .. int(seq), int(now) .. ':' .. int(est_p50(ms, keep, rank)))
  redis.call('HINCRBY', K_EST, 'sn', 1)
end

-- A sampled ticket stops waiting: admitted, its estimate's relative error (permille) joins the recent
-- ones, signed: (shown - actual) / actual (waits under a second are not scored: a relative error of milliseconds says nothing).
local function est_done(seq, now, admitted)
  if seq % EST_SAMPLE ~= 0 then return end
  local f = 'j' .. int(seq)
  local v = redis.call('HGET', K_EST, f)
  if not v then return end
  redis.call('HDEL', K_EST, f)
  redis.call('HINCRBY', K_EST, 'sn', -1)
  if not admitted then return end
  local joined, shown = string.match(v, '^(%d+):(%d+)$')
  local actual = now - tonumber(joined)
  if actual < 1000 then return end
  local n = redis.call('HINCRBY', K_EST, 'en', 1)
  redis.call('HSET', K_EST, 'e' .. ((n - 1) % EST_ERRORS), int((tonumber(shown) - actual) * 1000 / actual))
end

-- Counts `n` admissions of the queue's outflow in this second, then measures the time per admission over
-- the newest seconds holding at least EST_MIN admissions and spanning EST_SPAN ms (at most EST_SECS
-- seconds; with fewer than 5 admissions in all, nothing is measured), and the share of departed buyers
-- who were admitted (after 10 departures).
local function est_count(m, n, now)
  -- Counted per session place (millionths of an admission per place), so that a window measured before a
  -- capacity change still tells the pace after it: admissions = counted places x the capacity now.
  -- Buckets hold (second - t0's second) * 2^32 + that count.
  redis.call('HSETNX', K_EST, 't0', int(now))
  local t0 = tonumber(redis.call('HGET', K_EST, 't0'))
  local s0, s = math.floor(t0 / 1000), math.floor(now / 1000)
  local cap = math.max(m.capacity, 1)
  local f = 'w' .. (s % EST_SECS)
  local cur = tonumber(redis.call('HGET', K_EST, f) or '0')
  local add = math.floor(n * 1000000 / cap + 0.5)
  if math.floor(cur / 4294967296) == s - s0 then
    cur = cur + math.min(add, 4294967295 - cur % 4294967296)
  else
    cur = (s - s0) * 4294967296 + math.min(add, 4294967295)
  end
  redis.call('HSET', K_EST, f, int(cur))
  local fields = {}
  for i = 0, EST_SECS - 1 do fields[i + 1] = 'w' .. ((s - i) % EST_SECS) end
  local w = redis.call('HMGET', K_EST, unpack(fields))
  local count, span = 0, 0
  for i = 0, EST_SECS - 1 do
    local x = tonumber(w[i + 1] or '0')
    if math.floor(x / 4294967296) == s - i - s0 then
      count = count + (x % 4294967296) * cap / 1000000
      span = now - (s - i) * 1000
      if count >= EST_MIN and span >= EST_SPAN then break end
    end
  end
  -- Early in a generation the window starts at its first counted admission, not at the start of that
  -- second (which would count time before anyone was admitted): n admissions then span n - 1 intervals.
  if now - t0 < span then span, count = now - t0, count - 1 end
  local c = redis.call('HMGET', K_META, 'admitted_total', 'dropped_total')
  local admitted = tonumber(c[1] or '0')
  local gone = tonumber(c[2] or '0')
  local keep = 1000000
  if admitted + gone >= 10 then keep = math.floor(admitted * 1000000 / (admitted + gone)) end
  if count >= 5 and span > 0 then
    redis.call('HSET', K_EST, 'ms', int(math.max(1, span / count)), 'mcap', int(cap), 'keep', int(keep))
  else
    redis.call('HSET', K_EST, 'keep', int(keep))
  end
end

-- The estimate's report for the stats: admissions in the last 60 s, the median absolute relative error
-- (permille, -1 with fewer than 5 scored) of the recent sampled estimates, their number, and the 10th and
-- 90th percentiles of their signed error ((shown - actual) / actual, permille) that the ranges use.
local function est_report(now)
  local s = math.floor(now / 1000)
  local fields = {}
  for i = 0, 59 do fields[i + 1] = 'w' .. ((s - i) % EST_SECS) end
  local w = redis.call('HMGET', K_EST, unpack(fields))
  local v = redis.call('HMGET', K_EST, 't0', 'mcap')
  local s0, cap = math.floor(tonumber(v[1] or '0') / 1000), tonumber(v[2] or '1')
  local per_min = 0
  for i = 0, 59 do
    local x = tonumber(w[i + 1] or '0')
    if math.floor(x / 4294967296) == s - i - s0 then per_min = per_min + (x % 4294967296) * cap / 1000000 end
  end
  per_min = math.floor(per_min + 0.5)
  local n = math.min(tonumber(redis.call('HGET', K_EST, 'en') or '0'), EST_ERRORS)
  local median, q10, q90 = -1, 0, 0
  if n >= 5 then
    local ef = {}
    for i = 0, n - 1 do ef[i + 1] = 'e' .. i end
    local e = redis.call('HMGET', K_EST, unpack(ef))
    local abs = {}
    for i = 1, n do
      e[i] = tonumber(e[i] or '0')
      abs[i] = math.abs(e[i])
    end
    table.sort(e)
    table.sort(abs)
    median = abs[math.floor((n + 1) / 2)]
    q10, q90 = e[math.max(1, math.floor(n * 0.1 + 0.5))], e[math.max(1, math.floor(n * 0.9 + 0.5))]
  end
  return per_min, median, n, q10, q90
end

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
    if seq > m.draw_n then return pre + redis.call('BITCOUNT', K_WAIT, int(m.draw_n + 1), int(seq), 'BIT') end
    local place = feistel(m.draw_seed, m.draw_n, seq - 1, false) + 1 - m.draw_head + 1
    local span = m.draw_n - m.draw_head + 1
    return math.max(1, math.min(pre, math.ceil(place * pre / span)))
  end
  return redis.call('BITCOUNT', K_WAIT, int(m.head), int(seq), 'BIT')
end

local function avg_ms()
  return tonumber(redis.call('GET', K_AVG) or '60000')
end

-- The reply for one ticket: {OK, ticket, state, rank, eta_ms, expires_at_ms, paused}
local function ticket_reply(m, seq)
  local st = slot_get(seq)
  local id = ticket_id(m, seq)
  local paused = (m.state == 'paused') and 1 or 0
  if m.state == 'prequeue' then
    -- Places are drawn at the opening: until then every pre-queue ticket is "in the pre-queue" (paused 2).
    if st == ST_WAITING then return {OK, id, st, m.waiting, 0, 0, 2} end
    return {OK, id, st, 0, 0, 0, 2}
  end
  if st == ST_WAITING then
    local rank = rank_of(m, seq)
    return {OK, id, st, rank, rank * avg_ms(), 0, paused}
  elseif st == ST_ADMITTED then
    return {OK, id, st, 0, 0, tonumber(redis.call('ZSCORE', K_SESS, int(seq)) or '0'), paused}
  end
  return {OK, id, st, 0, 0, 0, paused}
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
  emit('queue_resumed', '', {}, now)
  maintain(m, now, 100, 0)
end

-- The monitoring figures of stats.lua and stats-ro.lua (see their headers for the reply) at `now` (ms).
local function stats_reply(m, outbox, now)
  local c = redis.call('HMGET', K_META, 'admitted_total', 'abandoned_total', 'completed_total', 'expired_total',
                       'left_total', 'removed_total', 'opened_ms', 'closed_reason', 'outbox_dropped',
                       'pow_bits', 'seats_sold_gen', 'draw_commit', 'draw_revealed')
  local function n(x) return tonumber(x or '0') end
  local ms, keep = est_rate(m.capacity, m.session_ms, m.outflow)
  local per_min, err, scored, q10, q90 = est_report(now)
  return {OK, m.state, m.gen, m.waiting, redis.call('ZCARD', K_SESS), m.capacity, avg_ms(), n(c[1]), n(c[2]),
          n(c[3]), n(c[4]), n(c[5]), n(c[6]), outbox, m.session_ms, m.abandon_ms, m.tail, n(c[7]),
          c[8] or '', m.max_seats, n(c[9]), n(c[10]), m.outflow, m.seats_total, seats_left(m) or 0, n(c[11]),
          c[12] or '', c[13] and m.draw_seed or '', m.draw_n, ms, keep, per_min, err, scored, q10, q90}
end

-- One buyer's join (join.lua, join-many.lua). `v` is the queue meta as join reads it: HMGET of state, gen,
-- secret, capacity, departed, session_ms, outflow, seats_total (v[5] is kept current across the buyers of
-- one batch).
-- The path of a new buyer is kept to the fewest calls: it admits the buyer at once only when nobody else
-- waits and a session is free; otherwise the head is admitted by the queue's housekeeping (the next
-- status call, or any stats call). A buyer's live ticket is handed back only to its owner: `proof` is the
-- ticket id, or '*' from a trusted caller vouching for the buyer id; anyone else presenting the same buyer
-- id (which may be an email) gets E_NOT_OWNER and learns nothing of the ticket.
-- Returns {OK, ticket, state, rank, eta_ms, expires_at_ms, paused} | {E_QUEUE_FULL} | {E_NOT_OWNER}
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
    -- An admitted ticket whose session already ended (not yet cleaned up) is not live: a new ticket.
    if st == ST_ADMITTED and not live_session(prev, now_ms()) then st = ST_EXPIRED end
    if st == ST_WAITING or st == ST_ADMITTED then
      redis.call('DECR', K_SEQ) -- nobody saw the number: give it back, the sequence stays dense
      local m = load_meta()
      if proof ~= '*' and proof ~= ticket_id(m, prev) then return {E_NOT_OWNER} end
      if st == ST_WAITING then slot_set(prev, ST_WAITING, now_ms()) end
      return ticket_reply(m, prev)
    end
    redis.call('HSET', K_BUY, buyer, seq)
  end
  local now = now_ms()
  local id = ticket_id({gen = v[2], secret = v[3]}, seq)
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
    return {OK, id, ST_ADMITTED, 0, 0, expires, 0}
  end
  redis.call('SETBIT', K_WAIT, seq, 1)
  slot_set(seq, ST_WAITING, now)
  -- The newest ticket is last in line: its rank is the queue size, no count needed.
  if v[1] == 'prequeue' then return {OK, id, ST_WAITING, waiting, 0, 0, 2} end
  if v[1] == 'open' then est_sample(seq, waiting, now, tonumber(v[4]), tonumber(v[6]), tonumber(v[7] or '0')) end
  return {OK, id, ST_WAITING, waiting, waiting * avg_ms(), 0, (v[1] == 'paused') and 1 or 0}
end
