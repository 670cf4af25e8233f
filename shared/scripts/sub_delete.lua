-- sub_delete: removes a subscriber: its slot becomes "" (never notified
-- again, even by a run planned before) and is reused later.
-- ARGV: idx_key id   Returns 1 if it existed, else 0.
local idxk, id = ARGV[1], ARGV[2]
local cur = redis.call('HGET', idxk, id)
if not cur then return 0 end
local colon = string.find(cur, ':', 1, true)
local seg, slot = string.sub(cur, 1, colon - 1), string.sub(cur, colon + 1)
redis.call('LSET', 'qc:seg:{' .. seg .. '}:r', tonumber(slot), '')
redis.call('RPUSH', 'qc:seg:{' .. seg .. '}:free', slot)
redis.call('HDEL', idxk, id)
redis.call('HINCRBY', 'qc:stats', 'subscribers', -1)
return 1
