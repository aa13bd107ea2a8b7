-- show-cas: writes one show's record if its version is still the one the caller read, and appends the
-- change to the audit stream in the same step. Used for create, update and status changes.
-- KEYS[1] seatwise:{catalog}:shows  HASH show id -> show JSON (with "version" and "status")
-- KEYS[2] seatwise:{catalog}:audit  STREAM
-- ARGV[1] show id, ARGV[2] expected version (0 = the show must not exist yet), ARGV[3] new show JSON,
-- ARGV[4..] audit entry as field, value pairs
-- Returns {OK} | {E_CONFLICT, current_version, current_status} | {E_EXISTS} | {E_NOT_FOUND}
if #ARGV > 3 and (#ARGV - 3) % 2 ~= 0 then error('seatwise: audit fields must come in field/value pairs') end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local expected = tonumber(ARGV[2])
if expected == 0 then
  if cur then return {E_EXISTS} end
else
  if not cur then return {E_NOT_FOUND} end
  local show = cjson.decode(cur)
  if tonumber(show.version) ~= expected then return {E_CONFLICT, show.version, show.status} end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if #ARGV > 3 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', unpack(ARGV, 4)) -- audit.rs AUDIT_MAX_LEN
end
return {OK}
