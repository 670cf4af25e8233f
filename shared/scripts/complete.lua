-- complete: marks a chunk done with the delivered bits of its records, adds
-- the counts, renews the lease and, when asked, claims the next chunk in the
-- same round trip.
-- KEYS: run leases chunks bits recs
-- ARGV: token lease_ms idx bits targeted notified failed dlq first_ms last_ms want_next
-- Returns {'FENCED'} | {'DONE'} | {'OK'} | the claim reply
local run, leases, chunks, bits, recs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local token, idx = ARGV[1], ARGV[3]
local now = now_ms()
-- Fencing: only the live owner of this chunk may complete it.
if not lease_live(leases, token, now) or redis.call('HGET', chunks, idx) ~= token then
  redis.call('HINCRBY', run, 'fenced', 1)
  return {'FENCED'}
end
local chunk = tonumber(redis.call('HGET', run, 'chunk'))
local b0 = math.floor(tonumber(idx) * chunk / 8)
local newbits = ARGV[4]
if #newbits > 0 then
  local old = redis.call('GETRANGE', bits, b0, b0 + #newbits - 1)
  redis.call('SETRANGE', bits, b0, or_bytes(old, newbits))
end
redis.call('HDEL', chunks, idx)
local done = redis.call('HINCRBY', run, 'done_chunks', 1)
redis.call('HINCRBY', run, 'targeted', ARGV[5])
redis.call('HINCRBY', run, 'notified', ARGV[6])
redis.call('HINCRBY', run, 'failed', ARGV[7])
redis.call('HINCRBY', run, 'dlq', ARGV[8])
local fl = redis.call('HMGET', run, 'first_ms', 'last_ms', 'nchunks')
local first, last = tonumber(ARGV[9]), tonumber(ARGV[10])
if first > 0 and (not fl[1] or first < tonumber(fl[1])) then redis.call('HSET', run, 'first_ms', first) end
if last > 0 and (not fl[2] or last > tonumber(fl[2])) then redis.call('HSET', run, 'last_ms', last) end
redis.call('HSET', leases, token, now + tonumber(ARGV[2]))
if done >= tonumber(fl[3]) then
  redis.call('HSET', run, 'state', 'done')
  return {'DONE'}
end
if ARGV[11] == '1' then
  return do_claim(run, leases, chunks, bits, recs, token, now)
end
return {'OK'}
