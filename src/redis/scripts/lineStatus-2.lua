-- Reads one token's record and the line's served counter in one atomic step (position = seq - served).
-- Input:  KEYS[1] tokens  KEYS[2] served  ARGV[1] token
-- Output: {record or false, served}
return {redis.call('HGET', KEYS[1], ARGV[1]), tonumber(redis.call('GET', KEYS[2]) or '0')}
