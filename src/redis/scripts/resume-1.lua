-- Lifts the organiser's pause (the lease parked under the owner ARGV[1]) and wakes the processors.
-- Input:  KEYS[1] lease  ARGV[1] the paused owner  ARGV[2] the line's wake channel  ARGV[3] ticket type id
-- Output: 1 the pause was lifted, 0 the line was not paused (it is woken all the same)
local lifted = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then lifted = redis.call('DEL', KEYS[1]) end
redis.call('SPUBLISH', ARGV[2], ARGV[3])
return lifted
