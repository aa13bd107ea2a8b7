-- ratelimit: one fixed-window counter (the buyer gateway's limits, shared by every gateway process).
-- KEYS[1] seatwise:rl:{<kind>:<keyed hash of the client or buyer>}
-- ARGV[1] window in ms
-- Returns {OK, count in this window, ms until the window ends}
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  -- A counter without expiry cannot happen through this script; heal it rather than block forever.
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {OK, n, ttl}
