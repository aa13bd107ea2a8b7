-- The epoch a ticket was issued in: `m.epochs` lists "<epoch>:<first seq>" pairs, one per new primary seen
-- (see guard_epoch); 0 before any (and in queues opened before epochs existed).
local function epoch_of(m, seq)
  local e = 0
  for ep, from in string.gmatch(m.epochs or '', '(%d+):(%d+)') do
    if seq >= tonumber(from) then e = tonumber(ep) end
  end
  return e
end

-- A ticket's tag: keyed by the queue's secret, the generation, the seq and, from the first failover on, the
-- epoch — so a seq issued again after a failover that lost it gets another id.
local function ticket_tag(m, seq)
  local base = m.secret .. ':' .. m.gen .. ':' .. seq
  local e = epoch_of(m, seq)
  if e > 0 then base = base .. ':' .. e end
  return string.sub(redis.sha1hex(base), 1, 16)
end

-- Asynchronous replication may lose the last acknowledged joins when a lagging replica is promoted (or a
-- node restarts from an older file): the new primary would issue their seqs again. A join first compares
-- the primary's replication id with the one the queue recorded; on a new one, tickets from the next seq on
-- belong to a new epoch (a different tag), so no ticket id is ever issued twice. `epochs` and `replid` are
-- the meta's fields as read; returns the epochs now. A Redis that keeps INFO from scripts (none we know of;
-- Upstash answers it) skips the check, and its durability is its provider's.
local function guard_epoch(epochs, replid)
  local ok, info = pcall(redis.call, 'INFO', 'replication')
  if not ok or type(info) ~= 'string' then return epochs end
  local now_id = string.match(info, 'master_replid:(%x+)')
  if not now_id or now_id == replid then return epochs end
  epochs = epochs or ''
  if replid then
    local epoch = redis.call('HINCRBY', K_META, 'epoch', 1)
    local from = tonumber(redis.call('GET', K_SEQ) or '0') + 1
    epochs = epochs .. ((epochs == '') and '' or ',') .. epoch .. ':' .. from
    redis.call('HSET', K_META, 'epochs', epochs)
  end
  redis.call('HSET', K_META, 'replid', now_id)
  return epochs
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

