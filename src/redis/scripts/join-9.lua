-- Appends a buyer to the line, or to its pre-queue before a scheduled opening, unless the user
-- already waits or holds tickets of this ticket type.
-- Input:  KEYS[1] queue  KEYS[2] seq  KEYS[3] served  KEYS[4] users  KEYS[5] tokens  KEYS[6] awake
--         KEYS[7] purged (set when the line's keys went after its sale: see purge-11.lua)
--         KEYS[8] prequeue (the pre-queue's tokens in join order)  KEYS[9] draw (see seal.lua)
--         ARGV[1] new token  ARGV[2] user id  ARGV[3] quantity  ARGV[4] the line's wake channel
--         ARGV[5] ticket type id  ARGV[6] the user's previous token, whose hold has ended, to be
--         replaced ('' for none)  ARGV[7] '1' to stop at a returning user instead of joining them
--         ARGV[8] deadline, epoch ms: the caller has given up by then (its timeout), so a join
--         that Redis runs later (it was hung, the command waited in its socket) changes nothing
--         ARGV[9] the opening (epoch ms) of a sale with a pre-queue, else 0: before it, on Redis's
--         clock, a join enters the pre-queue; the first join after it seals the pre-queue
-- Output: {'joined', position, seq, now ms}
--         {'prequeued', entries, now ms}    the buyer entered the pre-queue (record seq 0, state Q)
--         {'entered', token, qty}           the user waits in the pre-queue with this token
--         {'waiting', token, position, qty} the user waits in line with this token
--         {'holding', token, hold end ms, qty} the user holds tickets with this token
--         {'late'}                          past ARGV[8]: nothing changed
--         {'returning', token}              a returning user (their last token ended, or ''
--                                           when the line was purged and Redis no longer knows)
--                                           and ARGV[7] = '1': nothing changed
-- `users` maps every user who joined to their latest token, so it also tells returning users
-- (the per-user cap) apart. ARGV[6] is replaced only while it is still the user's token, so two
-- concurrent re-joins make one token, not two. Wakes the processors only when the line was idle
-- (`awake` unset): a busy line's processor takes this buyer in its next batch.
--- @include "record"
--- @include "seal"
local now = redis.call('TIME')
local nowMs = now[1] * 1000 + math.floor(now[2] / 1000)
if nowMs > tonumber(ARGV[8]) then return {'late'} end
local existing = redis.call('HGET', KEYS[4], ARGV[2])
if existing and existing ~= ARGV[6] then
  local seq, qty, state, ends = readRecord(redis.call('HGET', KEYS[5], existing))
  if state == 'Q' then return {'entered', existing, tonumber(qty)} end
  if state == 'P' then
    local served = tonumber(redis.call('GET', KEYS[3]) or '0')
    return {'waiting', existing, tonumber(seq) - served, tonumber(qty)}
  end
  if state == 'R' and tonumber(ends) > nowMs then return {'holding', existing, ends, tonumber(qty)} end
  if ARGV[7] == '1' then return {'returning', existing} end
elseif not existing and ARGV[7] == '1' and redis.call('EXISTS', KEYS[7]) == 1 then
  return {'returning', ''}
end
local opening = tonumber(ARGV[9])
if opening > 0 and redis.call('HEXISTS', KEYS[9], 'entries') == 0 then
  if nowMs < opening then
    redis.call('RPUSH', KEYS[8], ARGV[1])
    writeRecord(KEYS[5], ARGV[1], 0, ARGV[3], 'Q', ARGV[2])
    redis.call('HSET', KEYS[4], ARGV[2], ARGV[1])
    return {'prequeued', redis.call('LLEN', KEYS[8]), nowMs}
  end
  seal(KEYS[9], KEYS[8], KEYS[2])
end
local seq = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], ARGV[1])
writeRecord(KEYS[5], ARGV[1], seq, ARGV[3], 'P', ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[1])
if redis.call('SET', KEYS[6], '1', 'NX') then redis.call('SPUBLISH', ARGV[4], ARGV[5]) end
return {'joined', seq - tonumber(redis.call('GET', KEYS[3]) or '0'), seq, nowMs}
