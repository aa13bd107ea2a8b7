-- release: an admitted buyer releases some (or all) of the seats their session holds.
-- ARGV[1] gen, ARGV[2] seq, ARGV[3] tag, ARGV[4] owner ('' or the buyer
-- the caller acts for; see check_ticket),
-- ARGV[5..] seat ids to release; none = release all
-- Returns {OK, seat...} (seats still held) | {E_NOT_HELD, seat...} | {E_NO_SESSION} | {E_CLOSED} |
--         {E_UNKNOWN_TICKET} | {E_NOT_OWNER}
local m, seq, now, expires = session_call(ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if not m then return seq end -- the refusal
local held = held_seats(seq)
if #ARGV < 5 then
  release_seats(seq)
  return {OK}
end
local have, drop, missing = {}, {}, {}
for _, seat in ipairs(held) do have[seat] = true end
for i = 5, #ARGV do
  if have[ARGV[i]] then drop[ARGV[i]] = true else missing[#missing + 1] = ARGV[i] end
end
if #missing > 0 then return {E_NOT_HELD, unpack(missing)} end
local keep = {}
for _, seat in ipairs(held) do
  if drop[seat] then redis.call('HDEL', K_HOLD, seat) else keep[#keep + 1] = seat end
end
if #keep > 0 then redis.call('HSET', K_SSEAT, int(seq), table.concat(keep, ' '))
else redis.call('HDEL', K_SSEAT, int(seq)) end
return {OK, unpack(keep)}
