-- sub_fetch: one subscriber's packed record and self-service fields.
-- ARGV: idx_key id   Returns {record or false, tok, consent, created,
-- sms_stop, sms_start} (missing fields false).
local id = ARGV[2]
local m = redis.call('HMGET', 'qc:{reg}:subm:' .. id, 'tok', 'consent', 'created', 'sms_stop', 'sms_start')
local rec = false
local cur = redis.call('HGET', ARGV[1], id)
if cur then
  local colon = string.find(cur, ':', 1, true)
  rec = seg_get(string.sub(cur, 1, colon - 1), tonumber(string.sub(cur, colon + 1)), 'nilempty', 1)
end
return {rec, m[1], m[2], m[3], m[4], m[5]}
