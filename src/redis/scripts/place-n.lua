-- Places one chunk of a sealed pre-queue in the line, in draw order, under the processor lease.
-- Chunks go from the last in draw order to the first, each pushed onto the head of the line, so
-- that the drawn entries end up ahead of every buyer who joined after the opening, in draw order.
-- Input:  KEYS[1] queue  KEYS[2] draw  KEYS[3] lease  KEYS[4] prequeue  KEYS[5...] the buckets of
--         the chunk's buyers
--         ARGV[1] owner id  ARGV[2] lease milliseconds  ARGV[3] entries placed so far (the caller's
--         view)  ARGV[4] events channel  ARGV[5] seq of the chunk's first entry (its draw rank,
--         1-based), then per buyer in draw order the index of its bucket among KEYS[5...] (1 for
--         KEYS[5]) and its token
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
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return {'lost'} end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
if redis.call('HGET', KEYS[2], 'state') ~= 'sealed' then return {'done'} end
local placed = tonumber(redis.call('HGET', KEYS[2], 'placed'))
if placed ~= tonumber(ARGV[3]) then return {'moved', placed} end
local first, changes, reversed = tonumber(ARGV[5]), {}, {}
for i = #ARGV - 1, 6, -2 do
  local key, token = KEYS[4 + tonumber(ARGV[i])], ARGV[i + 1]
  local seq = first + math.floor((i - 6) / 2)
  local _, qty, state, _, user, field, rest = readToken(key, token)
  if state == 'Q' then
    writeRecord(key, field, seq, qty, 'P', rest, user)
    changes[token] = 'pending'
  elseif state == 'C' then
    writeRecord(key, field, seq, qty, 'C', rest, user)
  end
  reversed[#reversed + 1] = entryOf(token)
end
redis.call('LPUSH', KEYS[1], unpack(reversed))
placed = redis.call('HINCRBY', KEYS[2], 'placed', #reversed)
if placed >= tonumber(redis.call('HGET', KEYS[2], 'entries')) then
  redis.call('HSET', KEYS[2], 'state', 'placed')
  redis.call('UNLINK', KEYS[4])
end
if next(changes) then redis.call('SPUBLISH', ARGV[4], cjson.encode({changes = changes})) end
return {'placed', placed}
