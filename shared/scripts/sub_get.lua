-- sub_get: one subscriber's packed record, found through the index.
-- ARGV: idx_key id   Returns the record, or false if there is none.
local cur = redis.call('HGET', ARGV[1], ARGV[2])
if not cur then return false end
local colon = string.find(cur, ':', 1, true)
local seg, slot = string.sub(cur, 1, colon - 1), string.sub(cur, colon + 1)
return seg_get(seg, tonumber(slot), 'raw')
