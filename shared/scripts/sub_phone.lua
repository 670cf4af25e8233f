-- sub_phone: the subscribers whose SMS number is phone (the phone index),
-- with where their records are, for an inbound STOP or START.
-- ARGV: phone   Returns {id, seg, slot, record, ...}; on a Redis Cluster a
-- record freed meanwhile comes back as '' (callers skip what does not decode).
local cur = redis.call('HGET', phone_key(ARGV[1]), ARGV[1])
local out = {}
if not cur then return out end
for id in string.gmatch(cur, '%S+') do
  local loc = redis.call('HGET', idx_key(id), id)
  if loc then
    local colon = string.find(loc, ':', 1, true)
    local seg, slot = string.sub(loc, 1, colon - 1), string.sub(loc, colon + 1)
    local rec = seg_get(seg, tonumber(slot), 'empty', #out + 4)
    if SEG_OPS or rec ~= '' then
      out[#out + 1] = id
      out[#out + 1] = seg
      out[#out + 1] = slot
      out[#out + 1] = rec
    end
  end
end
return out
