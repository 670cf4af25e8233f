-- associate: decides whether an event report opens a new alert, revises
-- one, or repeats one. KEYS: event-key
-- ARGV: mag version now_ms
-- Returns {'alert', alert_id} | {'update', alert_id, previous_mag}
--       | {'duplicate', alert_id, reason}
local evk = KEYS[1]
local mag, version = tonumber(ARGV[1]), tonumber(ARGV[2])
local cur = redis.call('HMGET', evk, 'alert', 'mag', 'version')
if not cur[1] then
  local aid = 'a' .. redis.call('INCR', 'qc:alertseq')
  redis.call('HSET', evk, 'alert', aid, 'mag', mag, 'version', version, 'created_ms', ARGV[3])
  redis.call('EXPIRE', evk, 7 * 86400)
  return {'alert', aid}
end
local aid, oldmag, oldver = cur[1], tonumber(cur[2]), tonumber(cur[3])
if version < oldver then
  return {'duplicate', aid, 'superseded_version'}
end
-- Only an upward revision can reach people not yet warned; 0.05 absorbs
-- rounding between sources.
if mag > oldmag + 0.05 then
  redis.call('HSET', evk, 'mag', mag, 'version', version)
  return {'update', aid, tostring(oldmag)}
end
if version > oldver then redis.call('HSET', evk, 'version', version) end
if mag < oldmag - 0.05 then
  return {'duplicate', aid, 'revised_down'}
end
return {'duplicate', aid, 'repeat'}
