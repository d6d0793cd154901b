-- Records the outcome of an admitted batch (already committed in PostgreSQL) and takes it off the
-- head of `processing`.
-- Input:  KEYS[1] processing  KEYS[2] queue  KEYS[3] served  KEYS[4] epoch  KEYS[5] revoking
--         KEYS[6...] the buckets of the batch's buyers
--         ARGV[1] events channel  ARGV[2] hold end (ISO 8601)  ARGV[3] hold end (epoch ms); both
--         '' in a replay, where each granted buyer's hold end follows its token
--         ARGV[4] granted count G  ARGV[5] sold-out count S  ARGV[6] dropped count D (buyers of
--         the batch who had cancelled in line)  ARGV[7] the processor's fencing epoch
--         ARGV[8] how many entries of `processing` the batch is (its head)  ARGV[9] '1' to put the
--         rest of `processing` (a batch taken ahead: take-5.lua) back in line too, right behind
--         this batch's waiting buyers, else '0'; then per buyer the index of its bucket among
--         KEYS[6...] (1 for KEYS[6]) and its token: G granted, S sold out, then those that wait
--         (stock may come back), in line order.
-- Output: {'settled', revoked...}: the granted tokens whose buyer cancelled meanwhile, whose holds
--         must be released; they are also kept in `revoking` until that is done, so that a
--         processor dying now leaves them to the next one; {'fenced'}, changing nothing, when
--         another processor has taken the line over since ARGV[7] was issued: it replays this
--         batch from PostgreSQL, and settling twice would put the waiting buyers back twice and
--         count the served ones twice (I2).
-- Only pending records change: C was cancelled (a granted one is revoked), E ended already (its
-- hold was confirmed or ran out before this settle). Waiting buyers go back to the head of the
-- line in their order (I3); served grows by G + S + D. Publishes the changes to the line's
-- watchers (the sweepers hear of the new holds from PostgreSQL: src/db/holds.ts).
--- @include "record"
if redis.call('GET', KEYS[4]) ~= ARGV[7] then return {'fenced'} end
local granted, soldOut, dropped = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local out, changes = {'settled'}, {}

local function mark(i, state)
  local key, token = KEYS[5 + tonumber(ARGV[i])], ARGV[i + 1]
  local seq, qty, old, _, user, field, rest = readToken(key, token)
  if old == 'P' then writeRecord(key, field, seq, qty, state, rest, user) end
  return old, token
end

local each = ARGV[3] == ''
local stride = each and 3 or 2
local soldFrom = 10 + stride * granted
local waitFrom = soldFrom + 2 * soldOut
for i = 10, soldFrom - 1, stride do
  local old, token = mark(i, 'R' .. (each and ARGV[i + 2] or ARGV[3]))
  if old == 'C' then
    out[#out + 1] = token
    redis.call('SADD', KEYS[5], token)
  elseif old == 'P' then
    changes[token] = 'reserved'
  end
end
for i = soldFrom, waitFrom - 1, 2 do
  local old, token = mark(i, 'S')
  if old == 'P' then changes[token] = 'sold_out' end
end
if ARGV[9] == '1' then
  local ahead = redis.call('LRANGE', KEYS[1], ARGV[8], -1)
  for i = #ahead, 1, -1 do redis.call('LPUSH', KEYS[2], ahead[i]) end
  redis.call('DEL', KEYS[1])
else
  redis.call('LTRIM', KEYS[1], ARGV[8], -1)
end
for i = #ARGV - 1, waitFrom, -2 do redis.call('LPUSH', KEYS[2], entryOf(ARGV[i + 1])) end
local served = redis.call('INCRBY', KEYS[3], granted + soldOut + dropped)
-- Without one hold end for all (a replay), the watchers of new holds read their end.
local expiresAt = ARGV[2] ~= '' and ARGV[2] or nil
redis.call('SPUBLISH', ARGV[1], cjson.encode({served = served, expires_at = expiresAt, changes = changes}))
return out
