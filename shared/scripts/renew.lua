-- renew: extends a live lease. KEYS: run leases   ARGV: token lease_ms
-- Returns {'OK'} | {'FENCED'}
local run, leases = KEYS[1], KEYS[2]
local now = now_ms()
if not lease_live(leases, ARGV[1], now) then
  redis.call('HDEL', leases, ARGV[1])
  redis.call('HINCRBY', run, 'fenced', 1)
  return {'FENCED'}
end
redis.call('HSET', leases, ARGV[1], now + tonumber(ARGV[2]))
return {'OK'}
