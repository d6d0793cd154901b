-- Appends a buyer to the line, or to its pre-queue before a scheduled opening, unless the user
-- already waits or holds tickets of this ticket type.
-- Input:  KEYS[1] queue  KEYS[2] seq  KEYS[3] served  KEYS[4] the user's bucket  KEYS[5] awake
--         KEYS[6] purged (set when the line's keys went after its sale: see purge-n.lua)
--         KEYS[7] prequeue (the pre-queue's entries in join order)  KEYS[8] draw (see seal.lua)
--         ARGV[1] the new token's secret  ARGV[2] user id  ARGV[3] quantity
--         ARGV[4] the line's wake channel  ARGV[5] ticket type id  ARGV[6] the secret of the
--         user's previous token, whose hold has ended, to be replaced ('' for none)
--         ARGV[7] '1' to stop at a returning user instead of joining them
--         ARGV[8] deadline, epoch ms: the caller has given up by then (its timeout), so a join
--         that Redis runs later (it was hung, the command waited in its socket) changes nothing
--         ARGV[9] the opening (epoch ms) of a sale with a pre-queue, else 0: before it, on Redis's
--         clock, a join enters the pre-queue; the first join after it seals the pre-queue
--         ARGV[10] the bucket's number
-- Output: {'joined', position, seq, now ms}
--         {'prequeued', entries, now ms}       the buyer entered the pre-queue (record seq 0, state Q)
--         {'entered', secret, qty}             the user waits in the pre-queue with this token
--         {'waiting', secret, position, qty}   the user waits in line with this token
--         {'holding', secret, hold end ms, qty} the user holds tickets with this token
--         {'late'}                             past ARGV[8]: nothing changed
--         {'collision'}                        another token of this bucket starts as ARGV[1] (48
--                                              bits: rare beyond belief): nothing changed, the
--                                              caller draws another secret
--         {'returning', secret}                a returning user (their last token ended, or ''
--                                              when the line was purged and Redis no longer
--                                              knows) and ARGV[7] = '1': nothing changed
-- The user's entry `:user` maps every user who joined to their latest token's field, so it also
-- tells returning users (the per-user cap) apart; it lives in the same bucket as that token's
-- record. ARGV[6] is replaced only while it is still the user's token, so two concurrent
-- re-joins make one token, not two. Wakes the processors only when the line was idle (`awake`
-- unset): a busy line's processor takes this buyer in its next batch.
--- @include "record"
--- @include "seal"
local now = redis.call('TIME')
local nowMs = now[1] * 1000 + math.floor(now[2] / 1000)
if nowMs > tonumber(ARGV[8]) then return {'late'} end
local userField = ':' .. ARGV[2]
local existingField = redis.call('HGET', KEYS[4], userField)
if existingField then
  local seq, qty, state, ends, rest = readRecord(redis.call('HGET', KEYS[4], existingField))
  local existing = existingField .. rest
  if existing ~= ARGV[6] then
    if state == 'Q' then return {'entered', existing, tonumber(qty)} end
    if state == 'P' then
      local served = tonumber(redis.call('GET', KEYS[3]) or '0')
      return {'waiting', existing, tonumber(seq) - served, tonumber(qty)}
    end
    if state == 'R' and tonumber(ends) > nowMs then return {'holding', existing, ends, tonumber(qty)} end
    if ARGV[7] == '1' then return {'returning', existing} end
  end
elseif ARGV[7] == '1' and redis.call('EXISTS', KEYS[6]) == 1 then
  return {'returning', ''}
end
local field, rest = splitSecret(ARGV[1])
if redis.call('HEXISTS', KEYS[4], field) == 1 then return {'collision'} end
local entry = field .. '.' .. ARGV[10]
local opening = tonumber(ARGV[9])
if opening > 0 and redis.call('HEXISTS', KEYS[8], 'entries') == 0 then
  if nowMs < opening then
    redis.call('RPUSH', KEYS[7], entry)
    writeRecord(KEYS[4], field, 0, ARGV[3], 'Q', rest, ARGV[2])
    redis.call('HSET', KEYS[4], userField, field)
    return {'prequeued', redis.call('LLEN', KEYS[7]), nowMs}
  end
  seal(KEYS[8], KEYS[7], KEYS[2])
end
local seq = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], entry)
writeRecord(KEYS[4], field, seq, ARGV[3], 'P', rest, ARGV[2])
redis.call('HSET', KEYS[4], userField, field)
if redis.call('SET', KEYS[5], '1', 'NX') then redis.call('SPUBLISH', ARGV[4], ARGV[5]) end
return {'joined', seq - tonumber(redis.call('GET', KEYS[3]) or '0'), seq, nowMs}
