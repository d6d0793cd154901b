-- Records the outcome of an admitted batch (already committed in PostgreSQL) and empties `processing`.
-- Input:  KEYS[1] tokens  KEYS[2] processing  KEYS[3] queue  KEYS[4] served  KEYS[5] epoch
--         KEYS[6] revoking
--         ARGV[1] events channel  ARGV[2] hold end (ISO 8601)  ARGV[3] hold end (epoch ms)
--         ARGV[4] granted count G  ARGV[5] sold-out count S  ARGV[6] the processor's fencing
--         epoch, then G granted tokens, S sold-out tokens, then the tokens that wait (stock may
--         come back), in line order.
-- Output: {'settled', revoked...}: the granted tokens whose buyer cancelled meanwhile, whose holds
--         must be released; they are also kept in `revoking` until that is done, so that a
--         processor dying now leaves them to the next one; {'fenced'}, changing nothing, when
--         another processor has taken the
--         line over since ARGV[6] was issued: it replays this batch from PostgreSQL, and settling
--         twice would put the waiting tokens back twice and count the served ones twice (I2).
-- Only pending records change: C was cancelled (a granted one is revoked), E ended already (its
-- hold was confirmed or ran out before this settle). Waiting tokens go back to the head of the
-- line in their order (I3); served grows by G + S. Publishes the changes to the line's watchers
-- (the sweepers hear of the new holds from PostgreSQL: src/db/holds.ts).
--- @include "record"
if redis.call('GET', KEYS[5]) ~= ARGV[6] then return {'fenced'} end
local granted, soldOut = tonumber(ARGV[4]), tonumber(ARGV[5])
local out, changes = {'settled'}, {}

local function mark(token, state)
  local seq, qty, old, _, user = readRecord(redis.call('HGET', KEYS[1], token))
  if old == 'P' then writeRecord(KEYS[1], token, seq, qty, state, user) end
  return old
end

for i = 7, 6 + granted do
  local old = mark(ARGV[i], 'R' .. ARGV[3])
  if old == 'C' then
    out[#out + 1] = ARGV[i]
    redis.call('SADD', KEYS[6], ARGV[i])
  elseif old == 'P' then
    changes[ARGV[i]] = 'reserved'
  end
end
for i = 7 + granted, 6 + granted + soldOut do
  if mark(ARGV[i], 'S') == 'P' then changes[ARGV[i]] = 'sold_out' end
end
for i = #ARGV, 7 + granted + soldOut, -1 do redis.call('LPUSH', KEYS[3], ARGV[i]) end
local served = redis.call('INCRBY', KEYS[4], granted + soldOut)
redis.call('DEL', KEYS[2])
redis.call('SPUBLISH', ARGV[1], cjson.encode({served = served, expires_at = ARGV[2], changes = changes}))
return out
