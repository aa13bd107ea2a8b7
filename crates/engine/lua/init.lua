-- init: the OPEN effect on one schedule. Idempotent: an open queue is left alone, a paused one resumes
-- (nobody loses a place, the sequence is kept), a closed or never-opened one gets a fresh generation.
-- ARGV[1] secret (random, for ticket tags), ARGV[2] capacity, ARGV[3] session_ms, ARGV[4] abandon_ms,
-- ARGV[5] max_seats, ARGV[6] the show's version of this change ('' = not ordered), ARGV[7] seats_total
-- (0 = the queue does not know its seats), ARGV[8] outflow limit in admissions per minute (0 = none),
-- ARGV[9] '' to open | 'prequeue' to open a pre-queue, ARGV[10] the draw's seed and ARGV[11] its SHA-256
-- commitment (a pre-queue only: the seed stays in Redis until the opening reveals it), ARGV[12] the seat
-- map's row labels (space-separated; '' = the queue does not know its map) and ARGV[13] seats per row: a
-- hold names only seats of this map (kept up to date by every OPEN effect), ARGV[14] the grace window
-- (ms) of a buyer who missed their turn (kept up to date by every OPEN effect too)
-- Returns {OK, 'opened' | 'resumed' | 'prequeue' | 'drawn', gen} | {E_ALREADY, state, gen} | {E_SUPERSEDED}
local m = load_meta()
local now = now_ms()
if superseded(ARGV[6]) then return {E_SUPERSEDED} end
local function set_live_settings()
  if (ARGV[12] or '') ~= '' then redis.call('HSET', K_META, 'seat_rows', ARGV[12], 'seats_per_row', ARGV[13]) end
  redis.call('HSET', K_META, 'grace_ms', ARGV[14])
end
if m then set_live_settings() end
local prequeue = ARGV[9] == 'prequeue'
if m and (m.state == 'open' or (prequeue and m.state ~= 'closed')) then
  mark_version(ARGV[6])
  return {E_ALREADY, m.state, m.gen}
end
if m and m.state == 'prequeue' then
  -- The opening: the pre-queue's order is drawn (revealed seed, N = every ticket issued so far), and every
  -- pre-queue buyer gets a full abandonment window from now.
  local commit = redis.call('HGET', K_META, 'draw_commit')
  m.state = 'open'
  m.draw_n = m.tail
  m.draw_head = 1
  m.resumed_ms = now
  m.draw_left = m.waiting -- every ticket still waiting is one of the pre-queue's
  redis.call('HSET', K_META, 'state', 'open', 'draw_n', int(m.tail), 'draw_head', 1, 'resumed_ms', int(now),
             'draw_revealed', 1, 'opened_ms', int(now), 'draw_left', int(m.waiting))
  mark_version(ARGV[6])
  emit('queue_opened', '', {gen = m.gen, draw_seed = m.draw_seed, draw_n = m.tail, draw_commit = commit}, now)
  maintain(m, now, 100, 0)
  return {OK, 'drawn', m.gen}
end
if m and m.state == 'paused' then
  resume(m, now)
  mark_version(ARGV[6])
  return {OK, 'resumed', m.gen}
end
local prev = redis.call('HMGET', K_META, 'show_version', 'outbox_cap')
local gen = (m and m.gen or 0) + 1
-- A close already removed these; a queue that crashed half-way through nothing can leave them behind, but
-- be sure a fresh generation starts empty. UNLINK frees in the background, so this never blocks.
redis.call('UNLINK', K_WAIT, K_TICK, K_BUY, K_SESS, K_SBITS, K_HOLD, K_SSEAT, K_MISS, K_BACK)
redis.call('DEL', K_META)
redis.call('SET', K_SEQ, 0)
redis.call('SET', K_AVG, 60000)
-- The fields join reads come first: the hash is a small listpack, scanned from its start.
redis.call('HSET', K_META, 'state', 'open', 'gen', gen, 'secret', ARGV[1], 'capacity', ARGV[2], 'departed', 0,
           'session_ms', ARGV[3], 'abandon_ms', ARGV[4], 'max_seats', ARGV[5], 'head', 1, 'grace_ms', ARGV[14],
           'last_admit_ms', 0, 'resumed_ms', 0, 'opened_ms', int(now))
if prev[1] then redis.call('HSET', K_META, 'show_version', prev[1]) end
-- Set only when on: join reads their absence as "admit at once when nobody waits".
if tonumber(ARGV[7] or '0') > 0 then redis.call('HSET', K_META, 'seats_total', ARGV[7]) end
if tonumber(ARGV[8] or '0') > 0 then redis.call('HSET', K_META, 'outflow', ARGV[8]) end
if prev[2] then redis.call('HSET', K_META, 'outbox_cap', prev[2]) end
set_live_settings()
mark_version(ARGV[6])
if prequeue then
  redis.call('HSET', K_META, 'state', 'prequeue', 'draw_seed', ARGV[10], 'draw_commit', ARGV[11])
  emit('prequeue_opened', '', {gen = gen, draw_commit = ARGV[11]}, now)
  return {OK, 'prequeue', gen}
end
emit('queue_opened', '', {gen = gen}, now)
return {OK, 'opened', gen}
