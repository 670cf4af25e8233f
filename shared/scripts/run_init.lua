-- run_init: creates the run state of one (alert, segment), once.
-- KEYS: run recs   ARGV: chunk max_workers_cap deadline_ms
-- max_workers = clamp(ceil(nchunks / 2), 1, cap): one lease per two chunks
-- (qc_sizing_max_workers in shared/src/sizing.c is the same formula).
-- Returns {total, nchunks, max_workers}; an existing run is left as it is.
local run, recs = KEYS[1], KEYS[2]
local chunk, maxw = tonumber(ARGV[1]), tonumber(ARGV[2])
local have = redis.call('HMGET', run, 'total', 'nchunks', 'maxw')
if have[1] then
  return {tonumber(have[1]), tonumber(have[2]), tonumber(have[3])}
end
local total = redis.call('LLEN', recs)
local nchunks = math.floor((total + chunk - 1) / chunk)
maxw = math.max(1, math.min(maxw, math.floor((nchunks + 1) / 2)))
local state = 'open'
if nchunks == 0 then state = 'done' end
redis.call('HSET', run, 'total', total, 'chunk', chunk, 'nchunks', nchunks,
  'cursor', 0, 'maxw', maxw, 'state', state, 'fence', 0, 'epoch', 0,
  'done_chunks', 0, 'deadline_ms', ARGV[3])
return {total, nchunks, maxw}
