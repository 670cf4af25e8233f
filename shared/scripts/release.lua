-- release: gives a lease back. Chunks it still owns become reclaimable at
-- once.
-- With a chunk's partial result (a dispatcher stopping mid-chunk hands it
-- back), the records it settled are first marked and counted, as complete
-- would, but the chunk stays claimed by the token being released: the next
-- claim of any worker reclaims it and sends only the unmarked rest. A token
-- whose lease is gone, or that no longer owns the chunk, writes nothing
-- ({'FENCED'}): the chunk's new owner sends those records again.
-- KEYS: run leases [chunks bits]
-- ARGV: token [idx bits targeted notified failed dlq first_ms last_ms]
-- Returns {'OK'} | {'FENCED'} (the lease is given back either way)
local run, leases, token = KEYS[1], KEYS[2], ARGV[1]
local reply = {'OK'}
if #KEYS >= 4 and #ARGV >= 9 then
  local chunks, bits, idx = KEYS[3], KEYS[4], ARGV[2]
  if lease_live(leases, token, now_ms()) and redis.call('HGET', chunks, idx) == token then
    local chunk = tonumber(redis.call('HGET', run, 'chunk'))
    local b0 = math.floor(tonumber(idx) * chunk / 8)
    local newbits = ARGV[3]
    if #newbits > 0 then
      local old = redis.call('GETRANGE', bits, b0, b0 + #newbits - 1)
      redis.call('SETRANGE', bits, b0, or_bytes(old, newbits))
    end
    redis.call('HINCRBY', run, 'targeted', ARGV[4])
    redis.call('HINCRBY', run, 'notified', ARGV[5])
    redis.call('HINCRBY', run, 'failed', ARGV[6])
    redis.call('HINCRBY', run, 'dlq', ARGV[7])
    local fl = redis.call('HMGET', run, 'first_ms', 'last_ms')
    local first, last = tonumber(ARGV[8]), tonumber(ARGV[9])
    if first > 0 and (not fl[1] or first < tonumber(fl[1])) then redis.call('HSET', run, 'first_ms', first) end
    if last > 0 and (not fl[2] or last > tonumber(fl[2])) then redis.call('HSET', run, 'last_ms', last) end
  else
    redis.call('HINCRBY', run, 'fenced', 1)
    reply = {'FENCED'}
  end
end
redis.call('HDEL', leases, token)
return reply
