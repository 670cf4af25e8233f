-- rate_take: a provider's rate limit shared by every dispatcher, as a
-- generic cell rate algorithm (GCRA, the "virtual scheduling" form of a
-- token bucket): one key per provider holding the theoretical arrival time
-- (TAT) of the next token, in microseconds of Redis' clock.
-- KEYS: qc:rate:<provider>
-- ARGV: rate (tokens per second) burst (tokens) wanted
-- Returns {granted, wait_us}: granted tokens (0..wanted), and when none
-- was granted how long until one will be.
-- In any window of T seconds at most burst + rate*T tokens are granted.
local key = KEYS[1]
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local step = 1000000 / rate
local tat = tonumber(redis.call('GET', key) or '0')
if tat < now then tat = now end
-- Tokens may be taken while the TAT is less than burst steps ahead.
local room = math.floor((now + burst * step - tat) / step)
if room <= 0 then
  return {0, math.ceil(tat - burst * step + step - now)}
end
local k = want < room and want or room
tat = tat + k * step
redis.call('SET', key, string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return {k, 0}
