-- Seals a line's pre-queue at its opening (the engine's clock): see includes/seal.lua.
-- Input:  KEYS[1] draw  KEYS[2] prequeue  KEYS[3] seq
-- Output: {entries sealed, 1 when they still wait to be placed else 0}
--- @include "seal"
local entries = seal(KEYS[1], KEYS[2], KEYS[3])
if redis.call('HGET', KEYS[1], 'state') == 'sealed' then return {entries, 1} end
return {entries, 0}
