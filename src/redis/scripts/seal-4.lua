-- Seals a line's pre-queue at its opening (the engine's clock): see includes/seal.lua. When its
-- entries wait to be placed, the line goes on the work list (its `awake` flag) and its processors
-- are woken, in this script, so that whichever processor holds the lease places them.
-- Input:  KEYS[1] draw  KEYS[2] prequeue  KEYS[3] seq  KEYS[4] awake
--         ARGV[1] the line's wake channel  ARGV[2] ticket type id
-- Output: {entries sealed, 1 when they still wait to be placed else 0}
--- @include "seal"
local entries = seal(KEYS[1], KEYS[2], KEYS[3])
if redis.call('HGET', KEYS[1], 'state') ~= 'sealed' then return {entries, 0} end
redis.call('SET', KEYS[4], '1')
redis.call('SPUBLISH', ARGV[1], ARGV[2])
return {entries, 1}
