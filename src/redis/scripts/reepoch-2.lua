-- Moves the fencing epoch past the one PostgreSQL last saw, for the lease holder only. Needed when
-- Redis lost its counter (a restart without AOF): while ARGV[1] holds the lease nobody newer exists.
-- Input:  KEYS[1] lease  KEYS[2] epoch  ARGV[1] owner id  ARGV[2] lowest acceptable epoch
-- Output: the epoch to use (>= ARGV[2]); 0 when ARGV[1] no longer holds the lease.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
if epoch < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[2])
  return tonumber(ARGV[2])
end
return redis.call('INCR', KEYS[2])
