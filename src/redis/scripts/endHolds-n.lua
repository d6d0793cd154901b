-- Marks holds that ended in PostgreSQL (confirmed, expired, cancelled) as E, tells the line's
-- watchers and wakes the processor (stock came back, or what may come back shrank). Status then
-- asks PostgreSQL how the hold ended. A token still P is in a batch committed but not yet
-- settled; E tells the settle script not to show it as held. C (cancelled while pending) stays.
-- Input:  KEYS the buckets of the tokens  ARGV[1] events channel  ARGV[2] the line's wake channel
--         ARGV[3] ticket type id  ARGV[4] how the holds ended (confirmed, expired or cancelled)
--         then per token: the index of its bucket in KEYS (1-based), the token
-- Output: how many records changed
--- @include "record"
local changed, changes = 0, {}
for i = 5, #ARGV, 2 do
  local key, token = KEYS[tonumber(ARGV[i])], ARGV[i + 1]
  changes[token] = ARGV[4]
  local seq, qty, state, _, user, field, rest = readToken(key, token)
  if state == 'P' or state == 'R' then
    writeRecord(key, field, seq, qty, 'E', rest, user)
    changed = changed + 1
  end
end
redis.call('SPUBLISH', ARGV[1], cjson.encode({changes = changes}))
redis.call('SPUBLISH', ARGV[2], ARGV[3])
return changed
