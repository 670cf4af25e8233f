-- acquire: a lease on a segment run, at most maxw live at once.
-- KEYS: run leases chunks   ARGV: epoch lease_ms [nonce]
-- The nonce (random, from the caller) ends the token, so a token string is
-- never handed out twice even when the counter is: after a failover whose
-- promoted replica lacked the primary's last writes (asynchronous
-- replication), or a restart that lost the AOF tail, `fence` may repeat a
-- value, and only the nonce then tells the holders apart.
-- Returns {'OK', token, total, chunk, nchunks, expired} | {'BUSY', expired}
--       | {'DONE'} | {'NOWORK'} | {'NORUN'} | {'STALE_EPOCH', epoch}
local run, leases, chunks = KEYS[1], KEYS[2], KEYS[3]
local epoch, lease_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local st = redis.call('HMGET', run, 'state', 'maxw', 'epoch', 'total', 'chunk', 'nchunks', 'cursor')
if not st[1] then return {'NORUN'} end
if st[1] == 'done' then return {'DONE'} end
local now = now_ms()
-- A token minted under an older epoch could collide with one minted before
-- a Redis restart lost the tail of the AOF; refuse it and let the client
-- learn the new epoch.
if tonumber(st[3]) > epoch then return {'STALE_EPOCH', st[3]} end
if tonumber(st[3]) < epoch then redis.call('HSET', run, 'epoch', epoch) end
local expired = purge_expired(leases, now)
if expired > 0 then redis.call('HINCRBY', run, 'leases_expired', expired) end
-- No new range left and every claimed chunk has a live owner: a new lease
-- would only idle.
if tonumber(st[7]) >= tonumber(st[6]) then
  local owned = redis.call('HGETALL', chunks)
  local orphan = false
  for i = 1, #owned, 2 do
    if not lease_live(leases, owned[i + 1], now) then orphan = true break end
  end
  if not orphan then return {'NOWORK'} end
end
if redis.call('HLEN', leases) >= tonumber(st[2]) then
  redis.call('HINCRBY', run, 'leases_refused', 1)
  return {'BUSY', expired}
end
local f = redis.call('HINCRBY', run, 'fence', 1)
local token = epoch .. '.' .. f
if ARGV[3] and ARGV[3] ~= '' then token = token .. '.' .. ARGV[3] end
redis.call('HSET', leases, token, now + lease_ms)
redis.call('HINCRBY', run, 'leases_granted', 1)
-- High-water mark of simultaneous holders, for the bound's own test.
local held = redis.call('HLEN', leases)
if held > tonumber(redis.call('HGET', run, 'leases_max') or '0') then
  redis.call('HSET', run, 'leases_max', held)
end
return {'OK', token, tonumber(st[4]), tonumber(st[5]), tonumber(st[6]), expired}
