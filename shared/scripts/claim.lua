-- claim: the next chunk for a lease holder (reclaims first).
-- KEYS: run leases chunks bits recs   ARGV: token lease_ms
-- Returns {'OK', idx, start, reclaimed, bits, {records}} | {'NOWORK'} | {'FENCED'}
local run, leases, chunks, bits, recs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local token = ARGV[1]
local now = now_ms()
if not lease_live(leases, token, now) then
  redis.call('HINCRBY', run, 'fenced', 1)
  return {'FENCED'}
end
redis.call('HSET', leases, token, now + tonumber(ARGV[2]))
return do_claim(run, leases, chunks, bits, recs, token, now)
