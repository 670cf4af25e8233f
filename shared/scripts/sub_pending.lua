-- sub_pending: a self-service sign-up waiting for its verification codes.
-- Refuses when the client address or a destination (phone number, e-mail
-- address, chat, URL: hashed by the caller, no personal data in key names)
-- signed up too often in the window; else stores the pending record for
-- ttl seconds. Nothing is stored in the registry until sub_verify.
--   qc:{reg}:pend:<id> HASH id rec cell mmi codes tries
--   qc:{reg}:rl:<...>  STRING fixed-window counters
-- ARGV: pend_key id rec cell mmi codes_json ttl_s window_s ip_key ip_limit
--       [dest_key dest_limit]...
-- Returns {'OK'} or {'RATE', 'ip'|'dest', index, seconds_left}.
local window = tonumber(ARGV[8])
if over_limit(ARGV[9], tonumber(ARGV[10]), window) then
  return {'RATE', 'ip', 0, redis.call('TTL', ARGV[9])}
end
for i = 11, #ARGV - 1, 2 do
  if over_limit(ARGV[i], tonumber(ARGV[i + 1]), window) then
    return {'RATE', 'dest', (i - 11) / 2, redis.call('TTL', ARGV[i])}
  end
end
redis.call('HSET', ARGV[1], 'id', ARGV[2], 'rec', ARGV[3], 'cell', ARGV[4], 'mmi', ARGV[5],
           'codes', ARGV[6], 'tries', 0)
redis.call('EXPIRE', ARGV[1], tonumber(ARGV[7]))
return {'OK'}
