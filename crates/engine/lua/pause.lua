-- pause: the POSTPONED effect. Buyers keep their places and may still join; nobody is admitted.
-- Sessions already running go on until they end.
-- Returns {0} | {E_ALREADY} | {E_NO_QUEUE} | {E_CLOSED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.state == 'closed' then return {E_CLOSED} end
if m.state == 'paused' then return {E_ALREADY} end
local now = now_ms()
redis.call('HSET', K_META, 'state', 'paused', 'last_admit_ms', 0)
emit('queue_paused', '', {}, now)
return {OK}
