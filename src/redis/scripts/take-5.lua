-- Moves the next batch of buyers from the line to `processing`, under the lease.
-- Input:  KEYS[1] queue  KEYS[2] processing  KEYS[3] lease  KEYS[4] awake  KEYS[5] draw (see seal.lua)
--         ARGV[1] owner id  ARGV[2] batch size  ARGV[3] lease milliseconds  ARGV[4] '' for a take,
--         or, for a take ahead, how many entries of `processing` are the caller's batch in flight
-- Output: {'lost'} the lease is not ARGV[1]'s; {'draw'} the pre-queue is sealed but not yet all in
--         line: nobody may be admitted before the lease holder has placed it (place-n.lua), since
--         the buyers who joined after the opening are already in the line behind where the
--         entries go; {'empty'} the line is empty (the processor goes idle and the next join
--         wakes it); else {'batch', recovery, entry1, entry2, ...} (entries `field.bucket`, in
--         line order) where recovery = 1 means these were left in `processing` by an earlier,
--         unfinished batch.
-- A take ahead (the processor takes batch N+1 while batch N's transaction runs) appends to
-- `processing` behind the batch in flight, never recovers, and leaves `awake` alone (batch N may
-- yet put buyers back); it answers {'lost'} also when `processing` is not as the caller says.
-- The records live in buckets this script cannot name in advance (Redis Cluster wants every key
-- declared), so the caller reads them next (readRecords-n.lua); buyers who cancelled while in
-- line are dropped by the settle. Nothing a buyer sees changes, so nothing is published.
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return {'lost'} end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if redis.call('HGET', KEYS[5], 'state') == 'sealed' then return {'draw'} end
local ahead = ARGV[4] ~= ''
if ahead then
  if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[4]) then return {'lost'} end
else
  local leftover = redis.call('LRANGE', KEYS[2], 0, -1)
  if #leftover > 0 then return {'batch', 1, unpack(leftover)} end
end
local popped = redis.call('LPOP', KEYS[1], ARGV[2])
if not popped then
  if not ahead then redis.call('DEL', KEYS[4]) end
  return {'empty'}
end
redis.call('RPUSH', KEYS[2], unpack(popped))
return {'batch', 0, unpack(popped)}
