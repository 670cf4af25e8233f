-- lib.lua: prepended to every quakecast script (see shared/src/redis.c).
-- Run-state keys of one (alert, segment) share the segment's hash tag, and
-- so does the segment's record list, so every script stays on one slot.
--   run     HASH  total chunk nchunks cursor maxw state fence epoch
--                 done_chunks targeted notified failed dlq reclaimed fenced
--                 first_ms last_ms leases_granted
--   leases  HASH  token -> lease expiry (ms, Redis TIME)
--   chunks  HASH  chunk index -> owner token, for chunks claimed and not done
--   bits    STRING one bit per record slot, set when the subscriber was handed off
--   recs    LIST  the segment's msgpack records (the dispatch projection)

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A lease is live while its expiry is in the future. Time is Redis's own
-- clock, so dispatchers' clocks never need to agree.
local function lease_live(leases, token, now)
  local exp = redis.call('HGET', leases, token)
  return exp ~= false and tonumber(exp) >= now
end

local function purge_expired(leases, now)
  local all = redis.call('HGETALL', leases)
  local n = 0
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) < now then
      redis.call('HDEL', leases, all[i])
      n = n + 1
    end
  end
  return n
end

-- Hands out the next chunk: first a chunk whose owner's lease is gone
-- (reclaim), then a new range. Returns the records and their delivered bits
-- so the worker needs no second round trip.
local function do_claim(run, leases, chunks, bits, recs, token, now)
  local m = redis.call('HMGET', run, 'cursor', 'nchunks', 'chunk', 'total')
  local cursor, nchunks = tonumber(m[1]), tonumber(m[2])
  local chunk, total = tonumber(m[3]), tonumber(m[4])
  local idx, reclaimed = nil, 0
  local owned = redis.call('HGETALL', chunks)
  for i = 1, #owned, 2 do
    if owned[i + 1] ~= token and not lease_live(leases, owned[i + 1], now) then
      idx = tonumber(owned[i])
      reclaimed = 1
      break
    end
  end
  if idx == nil then
    if cursor >= nchunks then
      return {'NOWORK'}
    end
    idx = cursor
    redis.call('HSET', run, 'cursor', cursor + 1)
  else
    redis.call('HINCRBY', run, 'reclaimed', 1)
  end
  redis.call('HSET', chunks, idx, token)
  local start = idx * chunk
  local stop = math.min(start + chunk, total) - 1
  local r = redis.call('LRANGE', recs, start, stop)
  local b = redis.call('GETRANGE', bits, math.floor(start / 8), math.floor(stop / 8))
  return {'OK', idx, start, reclaimed, b, r}
end

local function or_bytes(a, b)
  local out = {}
  for i = 1, #b do
    local x = 0
    if i <= #a then x = string.byte(a, i) end
    out[i] = string.char(bit.bor(x, string.byte(b, i)))
  end
  return table.concat(out)
end
