-- pause: the POSTPONED effect. Buyers keep their places and may still join; nobody is admitted.
-- Sessions already running go on until they end.
-- ARGV[1] the show's version of this change ('' = a staff action on the queue itself)
-- Returns {OK} | {E_ALREADY} | {E_NO_QUEUE} | {E_CLOSED} | {E_SUPERSEDED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if superseded(ARGV[1]) then return {E_SUPERSEDED} end
mark_version(ARGV[1])
if m.state == 'closed' then return {E_CLOSED} end
if m.state == 'paused' then return {E_ALREADY} end
local now = now_ms()
-- paused_ms: since when (every status answer says it, so a buyer without a live connection sees it)
redis.call('HSET', K_META, 'state', 'paused', 'last_admit_ms', 0, 'paused_ms', int(now))
emit('queue_paused', '', {}, now)
return {OK}
