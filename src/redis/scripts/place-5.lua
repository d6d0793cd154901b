-- Places one chunk of a sealed pre-queue in the line, in draw order, under the processor lease.
-- Chunks go from the last in draw order to the first, each pushed onto the head of the line, so
-- that the drawn entries end up ahead of every buyer who joined after the opening, in draw order.
-- Input:  KEYS[1] tokens  KEYS[2] queue  KEYS[3] draw  KEYS[4] lease  KEYS[5] prequeue
--         ARGV[1] owner id  ARGV[2] lease milliseconds  ARGV[3] entries placed so far (the caller's
--         view)  ARGV[4] events channel  ARGV[5] seq of the chunk's first entry (its draw rank,
--         1-based)  ARGV[6...] the chunk's tokens in draw order
-- Output: {'placed', placed}  the chunk is in line; `placed` entries are, in all
--         {'moved', placed}   ARGV[3] is not the count placed (another holder of the lease placed
--                             more, or this chunk already went): nothing changed, resume from it
--         {'done'}            the whole pre-queue is in line
--         {'lost'}            the lease is not ARGV[1]'s: nothing changed
-- Fenced by the lease and the count placed, so a chunk goes into the line exactly once, whoever
-- retries it after a crash. A pre-queue entry (state Q) becomes pending with its seq; one that was
-- cancelled (C) keeps its state and gets its seq, and is dropped when the processor reaches it.
-- The last chunk marks the pre-queue placed and frees its list. Publishes the entries' new state.
--- @include "record"
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return {'lost'} end
redis.call('PEXPIRE', KEYS[4], ARGV[2])
if redis.call('HGET', KEYS[3], 'state') ~= 'sealed' then return {'done'} end
local placed = tonumber(redis.call('HGET', KEYS[3], 'placed'))
if placed ~= tonumber(ARGV[3]) then return {'moved', placed} end
local first, changes, reversed = tonumber(ARGV[5]), {}, {}
for i = #ARGV, 6, -1 do
  local token = ARGV[i]
  local _, qty, state, _, user = readRecord(redis.call('HGET', KEYS[1], token))
  if state == 'Q' then
    writeRecord(KEYS[1], token, first + i - 6, qty, 'P', user)
    changes[token] = 'pending'
  elseif state == 'C' then
    writeRecord(KEYS[1], token, first + i - 6, qty, 'C', user)
  end
  reversed[#reversed + 1] = token
end
redis.call('LPUSH', KEYS[2], unpack(reversed))
placed = redis.call('HINCRBY', KEYS[3], 'placed', #reversed)
if placed >= tonumber(redis.call('HGET', KEYS[3], 'entries')) then
  redis.call('HSET', KEYS[3], 'state', 'placed')
  redis.call('UNLINK', KEYS[5])
end
if next(changes) then redis.call('SPUBLISH', ARGV[4], cjson.encode({changes = changes})) end
return {'placed', placed}
