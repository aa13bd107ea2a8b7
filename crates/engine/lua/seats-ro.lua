-- seats-ro: read-only. The seats nobody else may hold now: held by a session, or sold (any generation).
-- No ARGV. Returns {OK, seat…} (unordered; a seat both held and sold appears twice)
local out = {OK}
for _, s in ipairs(redis.call('HKEYS', K_HOLD)) do out[#out + 1] = s end
for _, s in ipairs(redis.call('HKEYS', K_SOLD)) do out[#out + 1] = s end
return out
