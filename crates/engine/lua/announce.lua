-- announce: a message from the box office to everyone waiting, on the schedule's public channel.
-- ARGV[1] message text (validated by the caller)
-- Returns {OK} | {E_NO_QUEUE} | {E_CLOSED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.state == 'closed' then return {E_CLOSED} end
local now = now_ms()
-- The latest announcement is part of the queue's state too: every status answer carries it, so a buyer who
-- reloads, joins later or has no live connection sees it.
redis.call('HSET', K_META, 'announce_text', ARGV[1], 'announce_ms', int(now))
emit('announcement', '', {message = ARGV[1]}, now)
return {OK}
