-- Seals a line's pre-queue at its opening: from then on joins go to the line, numbered after every
-- entry (the draw gives the entries seq 1..N: see place-n.lua). Sealing twice changes nothing.
-- `draw` holds state (sealed: entries wait for placement; placed: all in line), entries, placed.

-- Returns the number of entries sealed.
local function seal(drawKey, prequeueKey, seqKey)
  local sealed = redis.call('HGET', drawKey, 'entries')
  if sealed then return tonumber(sealed) end
  local entries = redis.call('LLEN', prequeueKey)
  local state = 'sealed'
  if entries == 0 then state = 'placed' end
  redis.call('HSET', drawKey, 'state', state, 'entries', entries, 'placed', 0)
  if tonumber(redis.call('GET', seqKey) or '0') < entries then redis.call('SET', seqKey, entries) end
  return entries
end
