-- join-many: several buyers join one queue in one call, in the order given (the gateway coalesces the
-- joins that arrive together). Each buyer gets exactly what join.lua would have answered had the calls
-- run one after another: ranks stay dense and in arrival order, a buyer named twice gets one ticket,
-- ownership is checked per buyer. O(batch).
-- ARGV[1] n, then n pairs: buyer id (validated by the caller), proof ('' | ticket id | '*')
-- Returns {E_NO_QUEUE} | {E_CLOSED} for the whole batch, or {OK, then 7 fields per buyer: code, ticket,
--   state, rank, eta_ms, expires_at_ms, paused} (a buyer's code is OK, E_QUEUE_FULL or E_NOT_OWNER; the
--   other fields of a refused buyer are '' / 0)
local v = redis.call('HMGET', K_META, 'state', 'gen', 'secret', 'capacity', 'departed', 'session_ms', 'outflow',
                    'seats_total', 'epochs', 'replid')
if not v[1] then return {E_NO_QUEUE} end
if v[1] == 'closed' then return {E_CLOSED} end
v.epochs = guard_epoch(v[9], v[10])
local out = {OK}
for i = 1, tonumber(ARGV[1]) do
  local r = join_one(v, ARGV[2 * i], ARGV[2 * i + 1])
  for j = 1, 7 do out[#out + 1] = r[j] or ((j == 2) and '' or 0) end
end
return out
