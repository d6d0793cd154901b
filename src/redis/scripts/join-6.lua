-- Appends a buyer to the line, or returns the user's live token for this ticket type.
-- Input:  KEYS[1] queue  KEYS[2] seq  KEYS[3] served  KEYS[4] users  KEYS[5] tokens  KEYS[6] awake
--         ARGV[1] new token  ARGV[2] user id  ARGV[3] quantity  ARGV[4] wake channel
--         ARGV[5] ticket type id  ARGV[6] '1' to ignore the user's existing token (its hold ended)
-- Output: {1, token, position, quantity}        joined
--         {0, token, state, position, quantity} the user already has a pending (P) or held (R) token
-- Wakes the processor (one PUBLISH) only when it went idle, not on every join.
local existing = redis.call('HGET', KEYS[4], ARGV[2])
if existing and ARGV[6] ~= '1' then
  local rec = redis.call('HGET', KEYS[5], existing)
  if rec then
    local seq, qty, state = string.match(rec, '^(%d+)|(%d+)|(%a)|')
    if state == 'P' or state == 'R' then
      local served = tonumber(redis.call('GET', KEYS[3]) or '0')
      return {0, existing, state, tonumber(seq) - served, tonumber(qty)}
    end
  end
end
local seq = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[5], ARGV[1], seq .. '|' .. ARGV[3] .. '|P|' .. ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[1])
if redis.call('SET', KEYS[6], '1', 'NX') then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
return {1, ARGV[1], seq - tonumber(redis.call('GET', KEYS[3]) or '0'), tonumber(ARGV[3])}
