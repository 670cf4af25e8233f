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
-- Every registry key carries the hash tag {reg}, so on a Redis Cluster the
-- registry is one slot; a segment's records keep the segment's own tag
-- (the run state's slot). On one Redis a registry script writes and reads
-- the records itself. On a Redis Cluster (SEG_OPS set, see redis.c) it
-- cannot, so seg_set/seg_get only list what is to be done and the client
-- runs the list after the script, each on its segment's slot (seg_op.lua).
--   qc:{reg}:phx:<b>  HASH E.164 number -> space-separated subscriber ids, so
--                     an inbound SMS (STOP, START) finds who sent it; b from
--                     the number
--   qc:{reg}:phid:<b> HASH subscriber id -> its SMS number (b as the index's),
--                     so the registry knows the old number without the record
--   qc:{reg}:subm:<id> HASH tok (SHA-256 hex of the management token), consent
--                     (JSON), created, sms_stop, sms_start: self-service only
--   qc:{reg}:free:<s> LIST free slots of segment s, reused first
--   qc:{reg}:seglen   HASH segment -> number of record slots it has
local SEG_OPS = nil

local function seg_key(seg) return 'qc:seg:{' .. seg .. '}:r' end

-- Writes a record slot (rec '' frees it); slot may be the list's length
-- (a new slot). expect: the record the slot must hold (cluster shape only:
-- on one Redis the caller compared already).
local function seg_set(seg, slot, rec, expect)
  if SEG_OPS then
    SEG_OPS[#SEG_OPS + 1] = {'set', seg, slot, rec, expect}
    return
  end
  local k = seg_key(seg)
  local n = redis.call('LLEN', k)
  while n < slot do
    redis.call('RPUSH', k, '')
    n = n + 1
  end
  if slot == n then redis.call('RPUSH', k, rec) else redis.call('LSET', k, slot, rec) end
end

-- Reads a record slot. On a cluster it returns the placeholder '' and the
-- client puts the record at reply[p1] (or reply[p1][p2]; the whole reply
-- when p1 is nil). mode: 'raw' (missing stays nil), 'empty' (missing is
-- ''), 'nilempty' ('' and missing are nil).
local function seg_get(seg, slot, mode, p1, p2)
  if SEG_OPS then
    SEG_OPS[#SEG_OPS + 1] = {'get', seg, slot, mode, p1 or 0, p2 or 0}
    return ''
  end
  local rec = redis.call('LINDEX', seg_key(seg), slot)
  if mode == 'empty' and not rec then return '' end
  if mode == 'nilempty' and rec == '' then return false end
  return rec
end

-- qc:{reg}:idx:<b> of an id: 32-bit FNV-1a mod 4096, as qc_sub_index_key()
-- in C. Multiplying by 16777619 = 2^24 + 403 is split so that every product
-- stays exact in Lua's doubles.
local function id_bucket(id)
  local h = 2166136261
  for i = 1, #id do
    h = bit.bxor(h, string.byte(id, i)) % 4294967296
    h = ((h % 256) * 16777216 + h * 403) % 4294967296
  end
  return h % 4096
end
local function idx_key(id) return 'qc:{reg}:idx:' .. id_bucket(id) end
local function phid_key(id) return 'qc:{reg}:phid:' .. id_bucket(id) end

-- A packed record read once: the table, its channel mask, where each
-- channel's fields start (by the channel's bit) and the index after them.
-- A record is [v, id, lat, lon, lang, min_mmi, mask, fields...]; the fields
-- of each channel in mask (low byte) follow in channel order: push 2,
-- webhook 2, telegram 1, sms 1, email 1 (qc_subscriber_pack). nil if it is
-- not one.
local CHANNEL_FIELDS = {{1, 2}, {2, 2}, {4, 1}, {8, 1}, {16, 1}}
local function rec_read(rec)
  if not rec or rec == '' then return nil end
  local ok, t = pcall(cmsgpack.unpack, rec)
  if not ok or type(t) ~= 'table' or type(t[7]) ~= 'number' then return nil end
  local m = t[7] % 256
  local at, i = {}, 8
  for _, f in ipairs(CHANNEL_FIELDS) do
    if bit.band(m, f[1]) ~= 0 then
      at[f[1]] = i
      i = i + f[2]
    end
  end
  return t, m, at, i
end

-- The SMS number of a read record, or nil.
local function phone_of(t, at)
  if t and at[8] and type(t[at[8]]) == 'string' then return t[at[8]] end
  return nil
end

local function rec_phone(rec)
  local t, _, at = rec_read(rec)
  return phone_of(t, at)
end

-- The area routes a read record listens to ("area" on push or Telegram),
-- as members of qc:{reg}:areas: "<p|t>|<lat index>:<lon index>|<band>",
-- the cell as in the segment group (without its lane, "/qs" ...) and the
-- record's own threshold: qc_area_topic() in C names the same route. The
-- area bits are the number after the channel fields and the webhook's
-- extras (qc_subscriber_pack).
local function areas_of(t, m, i, cell)
  if not t or type(t[6]) ~= 'number' then return nil end
  if bit.band(m, 2) ~= 0 and type(t[i]) == 'string' then i = i + 2 end
  if type(t[i]) ~= 'number' then return nil end
  local area = bit.band(t[i], bit.band(m, 5))
  if area == 0 then return nil end
  local base = string.gsub(cell, '/q[set]?$', '')
  local out = {}
  if bit.band(area, 1) ~= 0 then out[#out + 1] = 'p|' .. base .. '|' .. t[6] end
  if bit.band(area, 4) ~= 0 then out[#out + 1] = 't|' .. base .. '|' .. t[6] end
  return out
end

local function phone_key(phone)
  local h = 0
  for i = 1, #phone do h = (h * 31 + string.byte(phone, i)) % 4096 end
  return 'qc:{reg}:phx:' .. h
end

local function phone_add(phone, id)
  redis.call('HSET', phid_key(id), id, phone)
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
  redis.call('HDEL', phid_key(id), id)
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

-- The SMS number a stored subscriber had: from qc:{reg}:phid, or (records
-- stored before it existed, one Redis only) from the record itself.
local function old_phone(id, seg, slot)
  local p = redis.call('HGET', phid_key(id), id)
  if p then return p end
  if SEG_OPS then return nil end
  return rec_phone(redis.call('LINDEX', seg_key(seg), slot))
end

-- Slots a segment has: qc:{reg}:seglen, or (segments made before it
-- existed, one Redis only) the list's length.
local function seg_len(seg)
  local n = redis.call('HGET', 'qc:{reg}:seglen', seg)
  if n then return tonumber(n) end
  if SEG_OPS then return 0 end
  return redis.call('LLEN', seg_key(seg))
end

-- Stores one subscriber record in its cell's segment (see sub_upsert.lua
-- for the keys). With expect set, the current record must be exactly that
-- (compare-and-set for read-modify-write updates). Returns
-- {'created'|'updated', seg, slot} or {'conflict'}.
local function sub_store(idxk, id, rec, cell, maxsize, minmmi, expect)
  local function free_key(seg) return 'qc:{reg}:free:' .. seg end
  local function lower_min(seg, c)
    local cat = redis.call('HGET', 'qc:{reg}:segcat', seg)
    local sep = string.find(cat, '|', 1, true)
    if minmmi < tonumber(string.sub(cat, sep + 1)) then
      redis.call('HSET', 'qc:{reg}:segcat', seg, c .. '|' .. minmmi)
    end
  end
  local t, m, at, after = rec_read(rec)
  local newphone = phone_of(t, at)
  local areas = areas_of(t, m, after, cell)
  if areas then redis.call('SADD', 'qc:{reg}:areas', unpack(areas)) end
  local cur = redis.call('HGET', idxk, id)
  local created = 'created'
  if cur then
    local colon = string.find(cur, ':', 1, true)
    local seg, slot = string.sub(cur, 1, colon - 1), tonumber(string.sub(cur, colon + 1))
    if expect and not SEG_OPS and redis.call('LINDEX', seg_key(seg), slot) ~= expect then
      return {'conflict'}
    end
    local oldphone = old_phone(id, seg, slot)
    if oldphone and oldphone ~= newphone then phone_del(oldphone, id) end
    if newphone then phone_add(newphone, id) end
    local cat = redis.call('HGET', 'qc:{reg}:segcat', seg)
    local sep = string.find(cat, '|', 1, true)
    if string.sub(cat, 1, sep - 1) == cell then
      seg_set(seg, slot, rec, expect)
      lower_min(seg, cell)
      return {'updated', seg, slot}
    end
    -- Moved to another cell: free the old slot, then insert below.
    seg_set(seg, slot, '', expect)
    redis.call('RPUSH', free_key(seg), slot)
    created = 'updated'
  else
    if expect then return {'conflict'} end
    redis.call('HINCRBY', 'qc:{reg}:stats', 'subscribers', 1)
    if newphone then phone_add(newphone, id) end
  end

  local cellk = 'qc:{reg}:cellsegs:' .. cell
  local seg = redis.call('LINDEX', cellk, -1)
  local slot = nil
  if seg then
    local f = redis.call('LPOP', free_key(seg))
    if f then
      slot = tonumber(f)
    else
      local n = seg_len(seg)
      if n < maxsize then
        slot = n
        redis.call('HSET', 'qc:{reg}:seglen', seg, n + 1)
      end
    end
  end
  if slot == nil then
    seg = tostring(redis.call('INCR', 'qc:{reg}:segseq'))
    redis.call('RPUSH', cellk, seg)
    redis.call('HSET', 'qc:{reg}:segcat', seg, cell .. '|' .. minmmi)
    redis.call('HINCRBY', 'qc:{reg}:stats', 'segments', 1)
    redis.call('HSET', 'qc:{reg}:seglen', seg, 1)
    slot = 0
  else
    lower_min(seg, cell)
  end
  seg_set(seg, slot, rec)
  redis.call('HSET', idxk, id, seg .. ':' .. slot)
  return {created, seg, slot}
end

-- Fixed-window counter: true when key went over limit in this window.
local function over_limit(key, limit, window_s)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, window_s) end
  return n > limit
end
