-- Gives up the processor lease if ARGV[1] still holds it.
-- Input:  KEYS[1] lease  ARGV[1] owner id
-- Output: 1 released, 0 not held by ARGV[1]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
