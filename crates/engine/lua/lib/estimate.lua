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

