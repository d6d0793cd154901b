-- A buyer's record in their bucket of the line (src/redis/keys.ts). A token's secret (22 base64url
-- characters) is split: its first 8 are the record's field, the rest is kept in the record, so
-- the field, the user entry and the list entry that name the buyer are 14 bytes shorter each (a
-- waiting buyer costs Redis about 100 bytes). Record: `seq|quantity|state|rest|user_id`; state is
-- one letter: P pending, R holding (followed by the hold's end in epoch ms), E the hold ended
-- (PostgreSQL says how), S sold out, C cancelled while pending, Q in the pre-queue (seq 0 until
-- the draw places it). src/domain/record.ts reads the same format in TypeScript. The line's lists
-- hold entries `field.bucket`; the full token, which watchers know, is
-- `secret.ticket_type_id.bucket` (src/domain/token.ts).

-- seq, quantity, state letter, hold end ('' unless R), rest of the secret, user id; nil for a
-- missing record.
local function readRecord(rec)
  if not rec then return nil end
  return string.match(rec, '^(%d+)|(%d+)|(%a)(%d*)|([%w_-]*)|(.*)$')
end

local function writeRecord(bucketKey, field, seq, qty, state, rest, user)
  redis.call('HSET', bucketKey, field, seq .. '|' .. qty .. '|' .. state .. '|' .. rest .. '|' .. user)
end

-- A secret's field and rest.
local function splitSecret(secret)
  return string.sub(secret, 1, 8), string.sub(secret, 9)
end

-- A full token's field, rest and bucket number.
local function tokenParts(token)
  local secret, bucket = string.match(token, '^([^.]+)%.%d+%.(%d+)$')
  local field, rest = splitSecret(secret)
  return field, rest, bucket
end

-- A full token's list entry, `field.bucket`.
local function entryOf(token)
  local field, _, bucket = tokenParts(token)
  return field .. '.' .. bucket
end

-- The record of a full token in `bucketKey` when the token's rest matches it: seq, quantity, state,
-- hold end, user id, and the token's field; nil when the line does not know this token.
local function readToken(bucketKey, token)
  local field, rest = tokenParts(token)
  local seq, qty, state, ends, stored, user = readRecord(redis.call('HGET', bucketKey, field))
  if stored ~= rest then return nil end
  return seq, qty, state, ends, user, field, rest
end
