-- The pre-queue draw (docs/PROTOCOL.md, "Provably fair draw"): the N tickets of the pre-queue are admitted
-- in the order of a keyed permutation of 1..N, so nothing is sorted and each step is O(1). The permutation
-- is a 4-round balanced Feistel network over 2h-bit numbers (4^h >= N), round function the first 8 hex
-- digits of SHA-1("<seed>:<round>:<half>") mod 2^h, with cycle walking to stay within 0..N-1. perm maps a
-- ticket's seq to its position (both from 1); perm_inv maps a position to the seq there.
local function feistel(seed, n, x, inverse)
  local h = 1
  while 4 ^ h < n do h = h + 1 end
  local size = 2 ^ h
  local function f(i, v) return tonumber(string.sub(redis.sha1hex(seed .. ':' .. i .. ':' .. v), 1, 8), 16) % size end
  repeat
    local l, r = math.floor(x / size), x % size
    if inverse then
      for i = 4, 1, -1 do l, r = bit.bxor(r, f(i, l)), l end
    else
      for i = 1, 4 do l, r = r, bit.bxor(l, f(i, r)) end
    end
    x = l * size + r
  until x < n
  return x
end

local function perm_inv(m, pos)
  return feistel(m.draw_seed, m.draw_n, pos - 1, true) + 1
end

