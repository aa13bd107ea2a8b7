-- complete: an admitted buyer books the seats their session holds. The seats become sold (for good, across
-- queue generations), the session ends and its slot goes to the head of the queue.
-- ARGV[1] gen, ARGV[2] seq, ARGV[3] tag, ARGV[4] owner ('' or the buyer
-- the caller acts for; see check_ticket)
-- Returns {OK, seat...} (seats sold) | {E_NO_SEATS} | {E_NO_SESSION} | {E_CLOSED} | {E_UNKNOWN_TICKET} | {E_NOT_OWNER}
local m, seq, now, expires = session_call(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if not m then return seq end -- the refusal
local held = held_seats(seq)
if #held == 0 then return {E_NO_SEATS} end
local owner = m.gen .. '.' .. seq
for _, seat in ipairs(held) do
  if redis.call('HGET', K_HOLD, seat) ~= int(seq) or redis.call('HEXISTS', K_SOLD, seat) == 1 then
    error('seatwise: session ' .. seq .. ' lists seat ' .. seat .. ' it does not hold')
  end
end
for _, seat in ipairs(held) do
  redis.call('HSET', K_SOLD, seat, owner)
  redis.call('HDEL', K_HOLD, seat)
end
redis.call('HDEL', K_SSEAT, int(seq))
redis.call('ZREM', K_SESS, int(seq))
redis.call('SETBIT', K_SBITS, int(seq), 0)
slot_state(seq, ST_COMPLETED)
redis.call('HINCRBY', K_META, 'completed_total', 1)
redis.call('HINCRBY', K_META, 'seats_sold_gen', #held)
maintain(m, now, 8, 0)
return {OK, unpack(held)}
