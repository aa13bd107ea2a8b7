-- announce: a message from the box office to everyone waiting, on the schedule's public channel.
-- ARGV[1] message text (validated by the caller)
-- Returns {OK} | {E_NO_QUEUE} | {E_CLOSED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.state == 'closed' then return {E_CLOSED} end
emit('announcement', '', {message = ARGV[1]}, now_ms())
return {OK}
