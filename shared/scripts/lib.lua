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

-- ---- registry (sub_upsert, sub_delete, sub_verify, sub_phone) ----
--   qc:phx:<b>   HASH E.164 number -> space-separated subscriber ids, so an
--                inbound SMS (STOP, START) finds who sent it; b from the number
--   qc:subm:<id> HASH tok (SHA-256 hex of the management token), consent
--                (JSON), created, sms_stop, sms_start: self-service subscribers only

-- The SMS number of a packed record, or nil. A record is [v, id, lat, lon,
-- lang, min_mmi, mask, fields...]; the fields of each channel in mask (low
-- byte) follow in channel order: push 2, webhook 2, telegram 1, sms 1, email 1.
local function rec_phone(rec)
  if not rec or rec == '' then return nil end
  local ok, t = pcall(cmsgpack.unpack, rec)
  if not ok or type(t) ~= 'table' or type(t[7]) ~= 'number' then return nil end
  local m = t[7] % 256
  local i = 8
  if bit.band(m, 1) ~= 0 then i = i + 2 end
  if bit.band(m, 2) ~= 0 then i = i + 2 end
  if bit.band(m, 4) ~= 0 then i = i + 1 end
  if bit.band(m, 8) ~= 0 and type(t[i]) == 'string' then return t[i] end
  return nil
end

local function phone_key(phone)
  local h = 0
  for i = 1, #phone do h = (h * 31 + string.byte(phone, i)) % 4096 end
  return 'qc:phx:' .. h
end

local function phone_add(phone, id)
  local k = phone_key(phone)
  local cur = redis.call('HGET', k, phone)
  if not cur then
    redis.call('HSET', k, phone, id)
    return
  end
  for w in string.gmatch(cur, '%S+') do
    if w == id then return end
  end
  redis.call('HSET', k, phone, cur .. ' ' .. id)
end

local function phone_del(phone, id)
  local k = phone_key(phone)
  local cur = redis.call('HGET', k, phone)
  if not cur then return end
  local keep = {}
  for w in string.gmatch(cur, '%S+') do
    if w ~= id then keep[#keep + 1] = w end
  end
  if #keep == 0 then
    redis.call('HDEL', k, phone)
  else
    redis.call('HSET', k, phone, table.concat(keep, ' '))
  end
end

-- Stores one subscriber record in its cell's segment (see sub_upsert.lua
-- for the keys). With expect set, the current record must be exactly that
-- (compare-and-set for read-modify-write updates). Returns
-- {'created'|'updated', seg, slot} or {'conflict'}.
local function sub_store(idxk, id, rec, cell, maxsize, minmmi, expect)
  local function recs_key(seg) return 'qc:seg:{' .. seg .. '}:r' end
  local function free_key(seg) return 'qc:seg:{' .. seg .. '}:free' end
  local function lower_min(seg, c)
    local cat = redis.call('HGET', 'qc:segcat', seg)
    local sep = string.find(cat, '|', 1, true)
    if minmmi < tonumber(string.sub(cat, sep + 1)) then
      redis.call('HSET', 'qc:segcat', seg, c .. '|' .. minmmi)
    end
  end
  local newphone = rec_phone(rec)
  local cur = redis.call('HGET', idxk, id)
  local created = 'created'
  if cur then
    local colon = string.find(cur, ':', 1, true)
    local seg, slot = string.sub(cur, 1, colon - 1), tonumber(string.sub(cur, colon + 1))
    local old = redis.call('LINDEX', recs_key(seg), slot)
    if expect and old ~= expect then return {'conflict'} end
    local oldphone = rec_phone(old)
    if oldphone and oldphone ~= newphone then phone_del(oldphone, id) end
    if newphone then phone_add(newphone, id) end
    local cat = redis.call('HGET', 'qc:segcat', seg)
    local sep = string.find(cat, '|', 1, true)
    if string.sub(cat, 1, sep - 1) == cell then
      redis.call('LSET', recs_key(seg), slot, rec)
      lower_min(seg, cell)
      return {'updated', seg, slot}
    end
    -- Moved to another cell: free the old slot, then insert below.
    redis.call('LSET', recs_key(seg), slot, '')
    redis.call('RPUSH', free_key(seg), slot)
    created = 'updated'
  else
    if expect then return {'conflict'} end
    redis.call('HINCRBY', 'qc:stats', 'subscribers', 1)
    if newphone then phone_add(newphone, id) end
  end

  local cellk = 'qc:cellsegs:' .. cell
  local seg = redis.call('LINDEX', cellk, -1)
  local slot = nil
  if seg then
    local f = redis.call('LPOP', free_key(seg))
    if f then
      slot = tonumber(f)
      redis.call('LSET', recs_key(seg), slot, rec)
    elseif redis.call('LLEN', recs_key(seg)) < maxsize then
      slot = redis.call('RPUSH', recs_key(seg), rec) - 1
    end
  end
  if slot == nil then
    seg = tostring(redis.call('INCR', 'qc:segseq'))
    redis.call('RPUSH', cellk, seg)
    redis.call('HSET', 'qc:segcat', seg, cell .. '|' .. minmmi)
    redis.call('HINCRBY', 'qc:stats', 'segments', 1)
    slot = redis.call('RPUSH', recs_key(seg), rec) - 1
  else
    lower_min(seg, cell)
  end
  redis.call('HSET', idxk, id, seg .. ':' .. slot)
  return {created, seg, slot}
end

-- Fixed-window counter: true when key went over limit in this window.
local function over_limit(key, limit, window_s)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, window_s) end
  return n > limit
end

-- qc:idx:<b> of an id: 32-bit FNV-1a mod 4096, as qc_sub_index_key() in C.
-- Multiplying by 16777619 = 2^24 + 403 is split so that every product
-- stays exact in Lua's doubles.
local function idx_key(id)
  local h = 2166136261
  for i = 1, #id do
    h = bit.bxor(h, string.byte(id, i)) % 4294967296
    h = ((h % 256) * 16777216 + h * 403) % 4294967296
  end
  return 'qc:idx:' .. (h % 4096)
end
