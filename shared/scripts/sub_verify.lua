-- sub_verify: checks the codes of a pending sign-up and, when every one
-- matches, stores the subscriber (sub_store), its management token hash and
-- its consent record in one step, and forgets the pending sign-up. Codes
-- arrive hashed (SHA-256 of id, channel and code), so no code is ever
-- stored or compared in clear. A wrong try counts; at max_tries the
-- sign-up is locked until it expires.
-- ARGV: pend_key codes_json max_tries idx_key max_segment_size meta_key
--       token_sha now_iso ip_key ip_limit window_s
-- Returns {'OK', id}, {'NOTFOUND'}, {'LOCKED'}, {'WRONG', tries_left} or
-- {'RATE', seconds_left}.
local pk, maxtries = ARGV[1], tonumber(ARGV[3])
if over_limit(ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])) then
  return {'RATE', redis.call('TTL', ARGV[9])}
end
local p = redis.call('HMGET', pk, 'id', 'rec', 'cell', 'mmi', 'tries', 'codes')
if not p[1] then return {'NOTFOUND'} end
local tries = tonumber(p[5])
if tries >= maxtries then return {'LOCKED'} end
local want, got = cjson.decode(p[6]), cjson.decode(ARGV[2])
local ok = true
for ch, h in pairs(want) do
  if got[ch] ~= h then ok = false end
end
if not ok then
  tries = redis.call('HINCRBY', pk, 'tries', 1)
  if tries >= maxtries then return {'LOCKED'} end
  return {'WRONG', maxtries - tries}
end
local r = sub_store(ARGV[4], p[1], p[2], p[3], tonumber(ARGV[5]), tonumber(p[4]), nil)
local consent = {}
for ch, _ in pairs(want) do
  consent[ch] = {verified_at = ARGV[8], method = 'code', source = 'self_signup'}
end
redis.call('HSET', ARGV[6], 'tok', ARGV[7], 'consent', cjson.encode(consent), 'created', ARGV[8])
redis.call('DEL', pk)
return {'OK', p[1], r[1]}
