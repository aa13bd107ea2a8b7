-- hold: an admitted buyer holds seats, all or nothing, against other sessions' holds and sold seats.
-- Seats the session already holds are kept; the total may not exceed the queue's max_seats.
-- ARGV[1] gen, ARGV[2] seq, ARGV[3] tag, ARGV[4] owner ('' or the buyer
-- the caller acts for; see check_ticket),
-- ARGV[5..] seat ids (format-checked by the caller; checked here against the queue's seat map)
-- Returns {OK, expires_at_ms, seat...} (all seats now held) | {E_NO_SUCH_SEAT, seat...} | {E_SEATS_TAKEN, seat...} |
--         {E_TOO_MANY_SEATS, max_seats} | {E_NO_SESSION} | {E_CLOSED} | {E_UNKNOWN_TICKET} | {E_NOT_OWNER}
local m, seq, now, expires = session_call(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if not m then return seq end -- the refusal
-- Sessions that ended but were not cleaned up yet must not keep their seats from this buyer.
if expire_sessions(m, now, 100) > 0 then maintain(m, now, 0, 0) end
local held = held_seats(seq)
local have = {}
for _, seat in ipairs(held) do have[seat] = true end
local new = {}
for i = 5, #ARGV do
  local seat = ARGV[i]
  if not have[seat] then have[seat] = true; new[#new + 1] = seat end
end
local unknown = seats_outside_map(new)
if #unknown > 0 then return {E_NO_SUCH_SEAT, unpack(unknown)} end
if #held + #new > m.max_seats then return {E_TOO_MANY_SEATS, m.max_seats} end
local taken = {}
for _, seat in ipairs(new) do
  local owner = redis.call('HGET', K_HOLD, seat)
  if redis.call('HEXISTS', K_SOLD, seat) == 1 or (owner and owner ~= int(seq)) then taken[#taken + 1] = seat end
end
if #taken > 0 then return {E_SEATS_TAKEN, unpack(taken)} end
for _, seat in ipairs(new) do
  redis.call('HSET', K_HOLD, seat, int(seq))
  held[#held + 1] = seat
end
redis.call('HSET', K_SSEAT, int(seq), table.concat(held, ' '))
return {OK, expires, unpack(held)}
