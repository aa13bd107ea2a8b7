-- leave: a buyer leaves (or staff remove a ticket). A waiting ticket gives up its place; an admitted one ends
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
return {OK, st}
