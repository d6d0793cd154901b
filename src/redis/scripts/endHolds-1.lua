-- Marks holds that ended in PostgreSQL (confirmed, expired, cancelled) as E: status then asks
-- PostgreSQL how. A token still P is in a batch committed but not yet settled; E tells the settle
-- script not to show it as held. C (cancelled while pending) stays.
-- Input:  KEYS[1] tokens  ARGV tokens
-- Output: how many records changed
local changed = 0
for _, token in ipairs(ARGV) do
  local rec = redis.call('HGET', KEYS[1], token)
  if rec then
    local seq, qty, state, user = string.match(rec, '^(%d+)|(%d+)|(%a)%d*|(.*)$')
    if state == 'P' or state == 'R' then
      redis.call('HSET', KEYS[1], token, seq .. '|' .. qty .. '|E|' .. user)
      changed = changed + 1
    end
  end
end
return changed
