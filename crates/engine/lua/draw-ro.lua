-- draw-ro: read-only. The seqs at positions ARGV[1] .. ARGV[1] + ARGV[2] - 1 of the queue's drawn pre-queue,
-- as the admission scripts compute them (for `seatwise verify-draw`, which recomputes them on its own).
-- Returns {OK, seq…} | {E_NO_QUEUE} | {E_NOT_FOUND} when nothing was drawn (or the seed is not revealed)
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.draw_n <= 0 or not redis.call('HGET', K_META, 'draw_revealed') then return {E_NOT_FOUND} end
local out = {OK}
local first = tonumber(ARGV[1])
for p = first, math.min(m.draw_n, first + tonumber(ARGV[2]) - 1) do out[#out + 1] = perm_inv(m, p) end
return out
