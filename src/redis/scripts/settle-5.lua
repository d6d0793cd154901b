-- Records the outcome of an admitted batch (already committed in PostgreSQL) and empties `processing`.
-- Input:  KEYS[1] tokens  KEYS[2] processing  KEYS[3] queue  KEYS[4] served  KEYS[5] epoch
--         ARGV[1] events channel  ARGV[2] hold expiry (ISO 8601)  ARGV[3] granted count G
--         ARGV[4] sold-out count S  ARGV[5] the processor's fencing epoch, then G granted tokens,
--         S sold-out tokens, then the tokens that wait (stock may come back), in line order.
-- Output: the granted tokens whose buyer cancelled meanwhile: their holds must be released;
--         false, changing nothing, when another processor has taken the line over since ARGV[5]
--         was issued: it replays this batch from PostgreSQL, and settling twice would put the
--         waiting tokens back twice and count the served ones twice (I2).
-- Waiting tokens go back to the head of the line in their order (I3); served grows by G + S.
if redis.call('GET', KEYS[5]) ~= ARGV[5] then return false end
local granted, soldOut = tonumber(ARGV[3]), tonumber(ARGV[4])
local revoked, changes = {}, {}

local function mark(token, state)
  local rec = redis.call('HGET', KEYS[1], token)
  if not rec then return nil end
  local seq, qty, old, user = string.match(rec, '^(%d+)|(%d+)|(%a)|(.*)$')
  if old ~= 'C' then redis.call('HSET', KEYS[1], token, seq .. '|' .. qty .. '|' .. state .. '|' .. user) end
  return old
end

for i = 6, 5 + granted do
  if mark(ARGV[i], 'R') == 'C' then revoked[#revoked + 1] = ARGV[i] else changes[ARGV[i]] = 'reserved' end
end
for i = 6 + granted, 5 + granted + soldOut do
  if mark(ARGV[i], 'S') ~= 'C' then changes[ARGV[i]] = 'sold_out' end
end
for i = #ARGV, 6 + granted + soldOut, -1 do redis.call('LPUSH', KEYS[3], ARGV[i]) end
local served = redis.call('INCRBY', KEYS[4], granted + soldOut)
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[1], cjson.encode({served = served, expires_at = ARGV[2], changes = changes}))
return revoked
