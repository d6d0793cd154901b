-- Holds that ended (confirmed, expired, cancelled; already committed in PostgreSQL) free their
-- users to join again, and their change is published.
-- Input:  KEYS[1] users  KEYS[2] tokens  ARGV[1] events channel  ARGV[2] new status, ARGV[3..] tokens
-- Output: the number of tokens released.
local changes = {}
for i = 3, #ARGV do
  local rec = redis.call('HGET', KEYS[2], ARGV[i])
  if rec then
    local user = string.match(rec, '^%d+|%d+|%a|(.*)$')
    if redis.call('HGET', KEYS[1], user) == ARGV[i] then redis.call('HDEL', KEYS[1], user) end
  end
  changes[ARGV[i]] = ARGV[2]
end
redis.call('PUBLISH', ARGV[1], cjson.encode({changes = changes}))
return #ARGV - 2
