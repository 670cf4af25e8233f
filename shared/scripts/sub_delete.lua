-- sub_delete: erases a subscriber from every registry structure: the slot
-- becomes "" (never notified again, even by a run planned before) and is
-- reused later; the index entry, the phone index entry, the self-service
-- record (management token, consent) and a pending sign-up go too.
-- ARGV: idx_key id   Returns 1 if it existed, else 0.
local idxk, id = ARGV[1], ARGV[2]
local had = redis.call('DEL', 'qc:{reg}:subm:' .. id, 'qc:{reg}:pend:' .. id)
local cur = redis.call('HGET', idxk, id)
if not cur then
  if had > 0 then return 1 end
  return 0
end
local colon = string.find(cur, ':', 1, true)
local seg, slot = string.sub(cur, 1, colon - 1), string.sub(cur, colon + 1)
local phone = old_phone(id, seg, tonumber(slot))
if phone then phone_del(phone, id) end
seg_set(seg, tonumber(slot), '')
redis.call('RPUSH', 'qc:{reg}:free:' .. seg, slot)
redis.call('HDEL', idxk, id)
redis.call('HINCRBY', 'qc:{reg}:stats', 'subscribers', -1)
return 1
