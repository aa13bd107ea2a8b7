-- lua/lib/: shared helpers for the queue scripts, one file per concern (core: keys, states, meta; draw;
-- tickets: slots, outbox, seats; estimate; admission; calls: what the buyer scripts share), read as one
-- text in that order (scripts.rs, LIB). Not a script on its own: scripts.rs links each script
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
--   KEYS[11] seatwise:missed:{S}                  ZSET   seq -> until when a buyer who missed their turn may come back (ms)
--   KEYS[12] seatwise:returned:{S}                ZSET   seq -> when a buyer who missed their turn came back (ms):
--                                                        admitted at the next free slot, ahead of the line, earliest first
--   KEYS[13] seatwise:holds:{S}                   HASH   seat id -> seq holding it
--   KEYS[14] seatwise:session_seats:{S}           HASH   seq -> space-separated seat ids it holds
--   KEYS[15] seatwise:sold:{S}                    HASH   seat id -> "<gen>.<seq>" that bought it (kept across generations)
--   KEYS[16] a script's own key (close: the drain bitmap; history: the history stream)
-- join.lua, the hottest script, is given only KEYS[1..12] (the seat keys are nil there and unused).
-- Scripts return a flat array whose first element is a code: OK (0) = done, a negative E_* = an expected
-- outcome that scripts.rs maps to an error in one place. The codes are defined once, in scripts.rs
-- (RESULT_CODES), which puts a `local` line with the ones each script uses before it: never write a bare
-- number for a code here. error() is kept for broken invariants only.

local K_META, K_SEQ, K_AVG, K_WAIT, K_TICK = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_BUY, K_SESS, K_OUT, K_SBITS = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local K_EST, K_MISS, K_BACK = KEYS[10], KEYS[11], KEYS[12]
local K_HOLD, K_SSEAT, K_SOLD = KEYS[13], KEYS[14], KEYS[15]

-- Ticket slots live at bit seq*64 of a string, which Redis caps at 512 MB: 2^26 tickets per generation.
local MAX_SEQ = 67108863

-- Ticket states, stored in the low byte of each ticket slot.
local ST_NONE, ST_WAITING, ST_ADMITTED, ST_COMPLETED = 0, 1, 2, 3
local ST_EXPIRED, ST_ABANDONED, ST_LEFT, ST_REMOVED = 4, 5, 6, 7
-- Missed: the buyer was not there when their turn came (no heartbeat within the presence window) and may
-- come back until the grace deadline. Back: came back in time, waits ahead of the line (shown as waiting).
local ST_MISSED, ST_BACK = 8, 9

local SCHEMA = 1

-- Wait estimates: admissions are counted per second over the last EST_SECS seconds; the time per admission
-- is measured over the newest seconds that hold at least EST_MIN admissions and span EST_SPAN ms. One
-- ticket in EST_SAMPLE (by seq) records the estimate shown at join, at most EST_PENDING at a time; the
-- last EST_ERRORS relative errors are kept for the median.
local EST_SECS, EST_MIN, EST_SPAN = 120, 30, 5000
local EST_SAMPLE, EST_PENDING, EST_ERRORS = 64, 2048, 128

-- How long a buyer who missed their turn may come back, when the queue does not say (10 minutes).
local DEFAULT_GRACE_MS = 600000

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
                       'head', 'grace_ms', 'departed', 'last_admit_ms', 'resumed_ms', 'outflow', 'of_tat',
                       'seats_total', 'draw_n', 'draw_head', 'draw_seed', 'draw_left', 'epochs'}
  local v = redis.call('HMGET', K_META, unpack(META_FIELDS))
  if not v[1] then return nil end
  local m = {}
  for i, f in ipairs(META_FIELDS) do m[f] = v[i] end
  -- A queue opened before grace windows existed has none stored: it gets the default.
  m.grace_ms = m.grace_ms or int(DEFAULT_GRACE_MS)
  for _, f in ipairs({'gen', 'capacity', 'session_ms', 'abandon_ms', 'max_seats', 'head', 'grace_ms',
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
  redis.call('HSET', K_META, 'head', int(m.head), 'departed', int(m.tail - m.waiting),
             'last_admit_ms', int(m.last_admit_ms))
  if m.draw_n > 0 then redis.call('HSET', K_META, 'draw_head', int(m.draw_head)) end
end

