-- Takes or renews the processor lease of one ticket type.
-- Input:  KEYS[1] lease  KEYS[2] epoch  ARGV[1] owner id  ARGV[2] lease milliseconds
-- Output: the fencing epoch (> 0) while ARGV[1] holds the lease; 0 when another owner holds it.
-- A new holder gets a new, higher epoch; PostgreSQL refuses batches of any lower epoch.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]))
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('INCR', KEYS[2])
