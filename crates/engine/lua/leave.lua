-- leave: a buyer leaves (or staff remove a ticket). A waiting ticket (or one that missed its turn) gives up its place; an admitted one ends
-- its session, releases its holds and frees the slot for the head of the queue.
-- ARGV[1] gen, ARGV[2] seq, ARGV[3] tag, ARGV[4] owner ('' or the buyer
-- the caller acts for; see check_ticket), ARGV[5] 'left' | 'removed'
-- Returns {OK, previous_state} | {E_ALREADY, state} | {E_CLOSED} | {E_UNKNOWN_TICKET} | {E_NOT_OWNER}
local m = load_meta()
local seq = check_ticket(m, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if seq < 0 then return {seq} end
local final, counter = ST_LEFT, 'left_total'
if ARGV[5] == 'removed' then final, counter = ST_REMOVED, 'removed_total' end
local now = now_ms()
local st = slot_get(seq)
if st == ST_WAITING then
  drop_waiting(m, seq, final)
elseif st == ST_BACK then
  -- back after missing their turn: waits among those back, not in the line's bitmap (counted as dropped
  -- for the estimates when it missed its turn)
  redis.call('ZREM', K_BACK, int(seq))
  slot_state(seq, final)
  m.waiting = m.waiting - 1
elseif st == ST_MISSED then
  -- missed their turn and gave up the grace window (already out of the line)
  redis.call('ZREM', K_MISS, int(seq))
  slot_state(seq, final)
elseif st == ST_ADMITTED then
  release_seats(seq)
  redis.call('ZREM', K_SESS, int(seq))
  redis.call('SETBIT', K_SBITS, int(seq), 0)
  slot_state(seq, final)
else
  return {E_ALREADY, st}
end
redis.call('HINCRBY', K_META, counter, 1)
if final == ST_REMOVED then emit('ticket_removed', ticket_id(m, seq), {}, now) end
maintain(m, now, 8, 0)
-- A buyer back after missing their turn was waiting, as far as anyone outside is concerned.
if st == ST_BACK then st = ST_WAITING end
return {OK, st}
