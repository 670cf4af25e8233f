-- seg_op: one record read or write that a registry script listed on a Redis
-- Cluster (SEG_OPS, lib.lua), run by the client on the segment's own slot.
-- KEYS: qc:seg:{<s>}:r
-- ARGV: 'set' slot record [expected]   Returns 'OK', or 'CONFLICT' when an
--       expected record was given and the slot holds another.
-- ARGV: 'get' slot                     Returns the record, or false.
local k, slot = KEYS[1], tonumber(ARGV[2])
if ARGV[1] == 'get' then return redis.call('LINDEX', k, slot) end
if ARGV[4] and redis.call('LINDEX', k, slot) ~= ARGV[4] then
  return {err = 'CONFLICT'}
end
local n = redis.call('LLEN', k)
while n < slot do
  redis.call('RPUSH', k, '')
  n = n + 1
end
if slot == n then redis.call('RPUSH', k, ARGV[3]) else redis.call('LSET', k, slot, ARGV[3]) end
return {ok = 'OK'}
