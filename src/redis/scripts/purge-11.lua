-- Removes a finished line's keys, if nobody is in it: every token that ever joined has left it and
-- is answered for by PostgreSQL (a hold row or a line exit), so Redis keeps nothing of the sale but
-- the marker `purged`, which makes every later join check the per-user cap in PostgreSQL (Redis
-- no longer knows who joined before).
-- Input:  KEYS[1] queue  KEYS[2] processing  KEYS[3] seq  KEYS[4] served  KEYS[5] users
--         KEYS[6] tokens  KEYS[7] awake  KEYS[8] epoch  KEYS[9] purged  KEYS[10] revoking
--         KEYS[11] draw (the pre-queue's; its list went when the draw placed it)
-- Output: 1 removed; 0 somebody is in line, being admitted or waiting to be drawn in, or a hold is
--         being revoked (try again later)
-- A pending token is always in `queue` or `processing` (I2), so two empty lists mean none is left.
-- The epoch goes too: the next lease holder moves it past PostgreSQL's (reepoch-2.lua). A paused
-- line's lease stays: pausing is the organiser's, and outlives the line.
if redis.call('LLEN', KEYS[1]) > 0 or redis.call('LLEN', KEYS[2]) > 0 or redis.call('SCARD', KEYS[10]) > 0 then return 0 end
if redis.call('HGET', KEYS[11], 'state') == 'sealed' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[11])
redis.call('SET', KEYS[9], '1')
return 1
