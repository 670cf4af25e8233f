-- epoch: the fencing epoch, bumped once per Redis server run (run_id), so
-- tokens minted after a restart that lost the AOF tail never repeat older
-- ones. KEYS: epoch-hash   ARGV: run_id   Returns the current epoch.
local cur = redis.call('HMGET', KEYS[1], 'epoch', 'run_id')
if cur[2] ~= ARGV[1] then
  local e = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
  redis.call('HSET', KEYS[1], 'run_id', ARGV[1])
  return e
end
return tonumber(cur[1])
