-- Removes a finished line's keys, if nobody is in it: every token that ever joined has left it and
-- is answered for by PostgreSQL (a hold row or a line exit), so Redis keeps nothing of the sale but
-- the marker `purged`, which makes every later join check the per-user cap in PostgreSQL (Redis
-- no longer knows who joined before).
-- Input:  KEYS[1] queue  KEYS[2] processing  KEYS[3] seq  KEYS[4] served  KEYS[5] awake
--         KEYS[6] epoch  KEYS[7] purged  KEYS[8] revoking  KEYS[9] draw (the pre-queue's; its list
--         went when the draw placed it)  KEYS[10...] every bucket of the line
-- Output: 1 removed; 0 somebody is in line, being admitted or waiting to be drawn in, or a hold is
--         being revoked (try again later)
-- A pending token is always in `queue` or `processing` (I2), so two empty lists mean none is left.
-- The epoch goes too: the next lease holder moves it past PostgreSQL's (reepoch-2.lua). A paused
-- line's lease stays: pausing is the organiser's, and outlives the line.
if redis.call('LLEN', KEYS[1]) > 0 or redis.call('LLEN', KEYS[2]) > 0 or redis.call('SCARD', KEYS[8]) > 0 then return 0 end
if redis.call('HGET', KEYS[9], 'state') == 'sealed' then return 0 end
for i = 1, #KEYS, 500 do
  local batch = {}
  for j = i, math.min(i + 499, #KEYS) do
    if j ~= 7 then batch[#batch + 1] = KEYS[j] end
  end
  redis.call('UNLINK', unpack(batch))
end
redis.call('SET', KEYS[7], '1')
return 1
