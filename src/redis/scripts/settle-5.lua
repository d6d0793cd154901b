-- Records the outcome of an admitted batch (already committed in PostgreSQL) and empties `processing`.
-- Input:  KEYS[1] tokens  KEYS[2] processing  KEYS[3] queue  KEYS[4] served  KEYS[5] epoch
--         ARGV[1] events channel  ARGV[2] hold end (ISO 8601)  ARGV[3] hold end (epoch ms)
--         ARGV[4] granted count G  ARGV[5] sold-out count S  ARGV[6] the processor's fencing epoch,
--         then G granted tokens, S sold-out tokens, then the tokens that wait (stock may come
--         back), in line order.
-- Output: the granted tokens whose buyer cancelled meanwhile: their holds must be released;
--         false, changing nothing, when another processor has taken the line over since ARGV[6]
--         was issued: it replays this batch from PostgreSQL, and settling twice would put the
--         waiting tokens back twice and count the served ones twice (I2).
-- Only pending records change: C was cancelled (a granted one is revoked), E ended already (its
-- hold was confirmed or ran out before this settle). Waiting tokens go back to the head of the
-- line in their order (I3); served grows by G + S.
if redis.call('GET', KEYS[5]) ~= ARGV[6] then return false end
local granted, soldOut = tonumber(ARGV[4]), tonumber(ARGV[5])
local revoked, changes = {}, {}

local function mark(token, state)
  local rec = redis.call('HGET', KEYS[1], token)
  if not rec then return nil end
  local seq, qty, old, user = string.match(rec, '^(%d+)|(%d+)|(%a)%d*|(.*)$')
  if old == 'P' then redis.call('HSET', KEYS[1], token, seq .. '|' .. qty .. '|' .. state .. '|' .. user) end
  return old
end

for i = 7, 6 + granted do
  local old = mark(ARGV[i], 'R' .. ARGV[3])
  if old == 'C' then revoked[#revoked + 1] = ARGV[i] elseif old == 'P' then changes[ARGV[i]] = 'reserved' end
end
for i = 7 + granted, 6 + granted + soldOut do
  if mark(ARGV[i], 'S') == 'P' then changes[ARGV[i]] = 'sold_out' end
end
for i = #ARGV, 7 + granted + soldOut, -1 do redis.call('LPUSH', KEYS[3], ARGV[i]) end
local served = redis.call('INCRBY', KEYS[4], granted + soldOut)
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[1], cjson.encode({served = served, expires_at = ARGV[2], changes = changes}))
return revoked
