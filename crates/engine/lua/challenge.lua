-- challenge: staff set the proof-of-work difficulty of a queue's joins (0 = off). The buyer gateway reads
-- it with the queue's public status and asks each join for a solved challenge of that many leading zero bits.
-- ARGV[1] bits (0..=MAX, checked by the caller)
-- Returns {OK, previous bits} | {E_NO_QUEUE} | {E_CLOSED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.state == 'closed' then return {E_CLOSED} end
local prev = tonumber(redis.call('HGET', K_META, 'pow_bits') or '0')
redis.call('HSET', K_META, 'pow_bits', ARGV[1])
return {OK, prev}
