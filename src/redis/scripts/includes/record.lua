-- A token's record in the line's `tokens` hash: `seq|quantity|state|user_id`. state is one
-- letter: P pending, R holding (followed by the hold's end in epoch ms), E the hold ended
-- (PostgreSQL says how), S sold out, C cancelled while pending, Q in the pre-queue (seq 0 until the
-- draw places it). src/domain/record.ts reads the same format in TypeScript.

-- seq, quantity, state letter, hold end ('' unless R), user id; nil for a missing record.
local function readRecord(rec)
  if not rec then return nil end
  return string.match(rec, '^(%d+)|(%d+)|(%a)(%d*)|(.*)$')
end

local function writeRecord(tokensKey, token, seq, qty, state, user)
  redis.call('HSET', tokensKey, token, seq .. '|' .. qty .. '|' .. state .. '|' .. user)
end
