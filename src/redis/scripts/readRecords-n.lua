-- Reads the records of a batch's buyers, spread over their buckets, in one command.
-- Input:  KEYS the buckets  ARGV per buyer: the index of its bucket in KEYS (1-based), its field
-- Output: per buyer its record (includes/record.lua), or false when the bucket has none
local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = redis.call('HGET', KEYS[tonumber(ARGV[i])], ARGV[i + 1])
end
return out
