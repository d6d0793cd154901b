-- Moves the next batch of buyers from the line to `processing`, under the lease.
-- Input:  KEYS[1] queue  KEYS[2] processing  KEYS[3] tokens  KEYS[4] served  KEYS[5] lease  KEYS[6] awake
--         KEYS[7] draw (see seal.lua)
--         ARGV[1] owner id  ARGV[2] batch size  ARGV[3] lease milliseconds
-- Output: {'lost'} the lease is not ARGV[1]'s; {'draw'} the pre-queue is sealed but not yet all in
--         line: nobody may be admitted before the lease holder has placed it (place-5.lua), since
--         the buyers who joined after the opening are already in the line behind where the
--         entries go; {'empty'} the line is empty (the processor goes
--         idle and the next join wakes it); else {'batch', recovery, token1, record1, token2,
--         record2, ...} where recovery = 1 means these tokens were left in `processing` by an
--         earlier, unfinished batch.
-- Buyers who cancelled while in line are dropped here and counted as served. Nothing a buyer sees
-- changes (pending stays pending; a cancel was told when it happened), so nothing is published.
--- @include "record"
if redis.call('GET', KEYS[5]) ~= ARGV[1] then return {'lost'} end
redis.call('PEXPIRE', KEYS[5], ARGV[3])
if redis.call('HGET', KEYS[7], 'state') == 'sealed' then return {'draw'} end
local out = {'batch', 0}
local leftover = redis.call('LRANGE', KEYS[2], 0, -1)
if #leftover > 0 then
  out[2] = 1
  for _, token in ipairs(leftover) do
    out[#out + 1] = token
    out[#out + 1] = redis.call('HGET', KEYS[3], token) or ''
  end
  return out
end
local popped = redis.call('LPOP', KEYS[1], ARGV[2])
if not popped then
  redis.call('DEL', KEYS[6])
  return {'empty'}
end
local dropped = 0
for _, token in ipairs(popped) do
  local rec = redis.call('HGET', KEYS[3], token)
  local _, _, state = readRecord(rec)
  if state == 'P' then
    redis.call('RPUSH', KEYS[2], token)
    out[#out + 1] = token
    out[#out + 1] = rec
  else
    dropped = dropped + 1
  end
end
if dropped > 0 then redis.call('INCRBY', KEYS[4], dropped) end
return out
