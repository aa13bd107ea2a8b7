-- lease: one worker at a time sends a stream's events (so each channel's events go out in outbox order, and
-- nobody publishes what another is still publishing). The lease is a key holding the worker's name with a
-- short expiry, renewed while the worker lives: a dead worker's streams are free again after one TTL.
-- KEYS[1] seatwise:lease:{S} (an outbox's) or seatwise:{catalog}:lease (the audit stream's)
-- ARGV[1] the worker's consumer name, ARGV[2] TTL in ms, ARGV[3] 'take' | 'renew' | 'release'
-- Returns {OK, 1} newly taken | {OK, 0} renewed or released | {E_NOT_OWNER} held by another (or, for
-- 'renew', lost: the caller must take it again, and with it the stream's pending events)
local cur = redis.call('GET', KEYS[1])
if ARGV[3] == 'release' then
  if cur == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return {OK, 0}
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {OK, 0}
end
if cur or ARGV[3] ~= 'take' then return {E_NOT_OWNER} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {OK, 1}
