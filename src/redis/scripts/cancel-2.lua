-- A pending buyer leaves the line, or a buyer the pre-queue (Q): the token is marked C and dropped
-- when the processor reaches it (a cancelled pre-queue entry stays in the draw, which is a function
-- of the entries that were made, and is placed as a tombstone).
-- Input:  KEYS[1] the token's bucket  KEYS[2] served  ARGV[1] the token  ARGV[2] events channel
-- Output: {state letter before the call, quantity, user id} (P or Q when it was cancelled here), or
--         false if the token is unknown.
--- @include "record"
local seq, qty, state, _, user, field, rest = readToken(KEYS[1], ARGV[1])
if not seq then return false end
if state == 'P' or state == 'Q' then
  writeRecord(KEYS[1], field, seq, qty, 'C', rest, user)
  local served = tonumber(redis.call('GET', KEYS[2]) or '0')
  redis.call('SPUBLISH', ARGV[2], cjson.encode({served = served, changes = {[ARGV[1]] = 'cancelled'}}))
end
return {state, qty, user}
