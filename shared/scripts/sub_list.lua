-- sub_list: one page of the registry, walking the index buckets in order
-- with HSCAN. The cursor is (bucket, HSCAN cursor); a small bucket comes
-- back whole, so a page may hold a few more than limit. At most 256 buckets
-- are visited per call, so an empty registry still answers in bounded time.
-- ARGV: bucket cursor limit   Returns {next_bucket, next_cursor, {id, rec, ...}}
-- (next_bucket 4096: the end).
local b, cur, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local out, visited = {}, 0
while b < 4096 and #out < limit * 2 and visited < 256 do
  local r = redis.call('HSCAN', 'qc:{reg}:idx:' .. b, cur, 'COUNT', limit)
  cur = r[1]
  local kv = r[2]
  for i = 1, #kv, 2 do
    local loc = kv[i + 1]
    local colon = string.find(loc, ':', 1, true)
    out[#out + 1] = kv[i]
    out[#out + 1] = seg_get(string.sub(loc, 1, colon - 1), tonumber(string.sub(loc, colon + 1)), 'empty', 3,
                            #out + 1)
  end
  if cur == '0' then
    b = b + 1
    visited = visited + 1
  end
end
return {b, cur, out}
