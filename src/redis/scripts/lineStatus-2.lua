-- Reads one token's record and the line's served counter in one atomic step (position = seq - served).
-- Input:  KEYS[1] the token's bucket  KEYS[2] served  ARGV[1] the token
-- Output: {record or false, served}: false also when the record's rest is not the token's
--- @include "record"
local field, rest = tokenParts(ARGV[1])
local rec = redis.call('HGET', KEYS[1], field)
local _, _, _, _, stored = readRecord(rec)
if stored ~= rest then rec = false end
return {rec, tonumber(redis.call('GET', KEYS[2]) or '0')}
