-- resume: a paused queue opens again and fills its free sessions from the head.
-- Returns {OK, gen} | {E_ALREADY} | {E_NO_QUEUE} | {E_CLOSED}
local m = load_meta()
if not m then return {E_NO_QUEUE} end
if m.state == 'closed' then return {E_CLOSED} end
if m.state == 'open' then return {E_ALREADY} end
resume(m, now_ms())
return {OK, m.gen}
