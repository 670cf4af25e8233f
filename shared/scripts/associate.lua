-- associate: decides whether an event report opens a new alert, revises
-- one, repeats one, or retracts one. Reports of one earthquake come from
-- several sources (the institute's push, USGS, EMSC) with their own ids:
-- a report whose own id is new joins a recent alert when it is close in
-- origin time, distance and magnitude (the windows are arguments; see
-- docs/ARCHITECTURE.md, "Association").
-- KEYS: event-key
-- ARGV: mag version now_ms lat lon origin_ms deleted(0|1) win_ms win_km win_mag
--       standalone(0|1: a drill, never joins another alert)
-- Returns {'alert', id} | {'update', id, previous_mag, rev}
--       | {'duplicate', id, reason} | {'cancel', id, '', rev}
-- (rev: the alert's revision number, 0 being the alert itself)
--       | {'ignored', '', reason}
local evk = KEYS[1]
local mag, version, now = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local lat, lon, origin = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local deleted, standalone = ARGV[7] == '1', ARGV[11] == '1'
local win_ms, win_km, win_mag = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])

local function km(la1, lo1, la2, lo2)
  local r = math.pi / 180
  local dla, dlo = (la2 - la1) * r, (lo2 - lo1) * r
  local a = math.sin(dla / 2) ^ 2 + math.cos(la1 * r) * math.cos(la2 * r) * math.sin(dlo / 2) ^ 2
  return 2 * 6371.0 * math.asin(math.min(1, math.sqrt(a)))
end

local cur = redis.call('HMGET', evk, 'alert', 'version')
local aid, joined = cur[1], false
if not aid then
  if deleted then return {'ignored', '', 'deleted_unknown_event'} end
  if not standalone then
    -- The nearest recent alert within every window, if any.
    local best, bestd = nil, nil
    local cands = redis.call('ZRANGEBYSCORE', 'qc:{alert}:recent', origin - win_ms, origin + win_ms)
    for _, c in ipairs(cands) do
      local a = redis.call('HMGET', 'qc:{alert}:' .. c, 'lat', 'lon', 'mag', 'cancelled')
      if a[1] and not a[4] then
        local d = km(lat, lon, tonumber(a[1]), tonumber(a[2]))
        if d <= win_km and math.abs(mag - tonumber(a[3])) <= win_mag and (not bestd or d < bestd) then
          best, bestd = c, d
        end
      end
    end
    aid = best
  end
  if not aid then
    aid = 'a' .. redis.call('INCR', 'qc:{alert}:seq')
    redis.call('HSET', evk, 'alert', aid, 'version', version, 'created_ms', now)
    redis.call('EXPIRE', evk, 7 * 86400)
    redis.call('HSET', 'qc:{alert}:' .. aid, 'lat', lat, 'lon', lon, 'mag', mag, 'origin_ms', origin)
    if not standalone then
      redis.call('ZADD', 'qc:{alert}:recent', origin, aid)
      redis.call('ZREMRANGEBYSCORE', 'qc:{alert}:recent', '-inf', tonumber(now) - 86400000)
    end
    return {'alert', aid}
  end
  joined = true
  redis.call('HSET', evk, 'alert', aid, 'version', version, 'created_ms', now)
  redis.call('EXPIRE', evk, 7 * 86400)
elseif version < tonumber(cur[2]) then
  return {'duplicate', aid, 'superseded_version'}
else
  redis.call('HSET', evk, 'version', version)
end
local ak = 'qc:{alert}:' .. aid
if redis.call('HEXISTS', ak, 'cancelled') == 1 then
  return {'duplicate', aid, deleted and 'already_cancelled' or 'alert_cancelled'}
end
if deleted then
  redis.call('HSET', ak, 'cancelled', now)
  return {'cancel', aid, '', redis.call('HINCRBY', ak, 'revs', 1)}
end
-- Only an upward revision can reach people not yet warned; 0.05 absorbs
-- rounding between sources. The alert keeps the largest magnitude warned.
local amag = tonumber(redis.call('HGET', ak, 'mag'))
if mag > amag + 0.05 then
  redis.call('HSET', ak, 'mag', mag)
  return {'update', aid, tostring(amag), redis.call('HINCRBY', ak, 'revs', 1)}
end
if mag < amag - 0.05 then
  return {'duplicate', aid, joined and 'associated' or 'revised_down'}
end
return {'duplicate', aid, joined and 'associated' or 'repeat'}
