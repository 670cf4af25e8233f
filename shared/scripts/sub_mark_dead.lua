-- sub_mark_dead: replaces one segment record by the same record with a
-- channel marked dead (an unregistered push token, a chat that blocked the
-- bot, an unsubscribed number), only if the record is still the one the
-- dispatcher read: a concurrent update or move wins, and a re-registration
-- (which writes a fresh record) revives the channel.
-- KEYS: qc:seg:{<s>}:r   ARGV: slot old new
-- Returns 1 if replaced, 0 if the record had changed.
local cur = redis.call('LINDEX', KEYS[1], tonumber(ARGV[1]))
if cur ~= ARGV[2] then return 0 end
redis.call('LSET', KEYS[1], tonumber(ARGV[1]), ARGV[3])
return 1
