-- join: a buyer joins the schedule's waiting room, or gets their live ticket back (same buyer, same ticket).
-- Joining a paused queue is allowed (the buyer keeps a place; nobody is admitted until it resumes).
-- This is the hottest script of an on-sale; the work is lua/lib/calls.lua's join_one (shared with join-many.lua).
-- ARGV[1] buyer id (validated by the caller), ARGV[2] proof: '' | ticket id | '*' (trusted caller)
-- Returns {OK, ticket, state, rank, eta_ms, expires_at_ms, paused, back} | {E_NO_QUEUE} | {E_CLOSED} | {E_QUEUE_FULL}
--   | {E_NOT_OWNER}
local v = redis.call('HMGET', K_META, 'state', 'gen', 'secret', 'capacity', 'departed', 'session_ms', 'outflow',
                    'seats_total', 'epochs', 'replid')
if not v[1] then return {E_NO_QUEUE} end
if v[1] == 'closed' then return {E_CLOSED} end
v.epochs = guard_epoch(v[9], v[10])
return join_one(v, ARGV[1], ARGV[2] or '')
