-- sub_upsert: stores one subscriber record in its cell's segment.
-- The registry (index, cells, catalogue) lives on one Redis primary: a
-- subscriber may move between cells, so the script touches keys it cannot
-- declare up front. Dispatch state is the part built for Redis Cluster.
--   qc:idx:<b>        HASH id -> "seg:slot"        (b = bucket of the id)
--   qc:cellsegs:<c>   LIST segment ids of cell c, newest last
--   qc:segcat         HASH seg -> "cell|min_mmi"   (what the planner reads)
--   qc:seg:{<s>}:r    LIST records; "" is a free slot
--   qc:seg:{<s>}:free LIST free slot numbers
--   qc:stats          HASH subscribers segments
-- ARGV: idx_key id record cell max_segment_size min_mmi
-- Returns {'created'|'updated', seg, slot}
local idxk, id, rec, cell = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local maxsize, minmmi = tonumber(ARGV[5]), tonumber(ARGV[6])

local function recs_key(seg) return 'qc:seg:{' .. seg .. '}:r' end
local function free_key(seg) return 'qc:seg:{' .. seg .. '}:free' end

local function lower_min(seg, c)
  local cat = redis.call('HGET', 'qc:segcat', seg)
  local sep = string.find(cat, '|', 1, true)
  if minmmi < tonumber(string.sub(cat, sep + 1)) then
    redis.call('HSET', 'qc:segcat', seg, c .. '|' .. minmmi)
  end
end

local cur = redis.call('HGET', idxk, id)
local created = 'created'
if cur then
  local colon = string.find(cur, ':', 1, true)
  local seg, slot = string.sub(cur, 1, colon - 1), tonumber(string.sub(cur, colon + 1))
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
  redis.call('HINCRBY', 'qc:stats', 'subscribers', 1)
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
