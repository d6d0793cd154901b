-- Counts one request against a fixed-window rate limit (src/api/security.ts).
-- Input:  KEYS[1] counter  ARGV[1] window milliseconds
-- Output: {requests in the current window, milliseconds until it ends}
-- The first request of a window sets its expiry; a counter found without one (it cannot happen
-- here, but a restored or hand-edited key could) gets one, so no client is limited forever.
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
