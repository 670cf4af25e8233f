-- release: gives a lease back. Chunks it still owns become reclaimable at
-- once. KEYS: run leases   ARGV: token
redis.call('HDEL', KEYS[2], ARGV[1])
return {'OK'}
