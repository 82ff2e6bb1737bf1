-- KEYS: the subject's sessions, its index (see session.lua). ARGV: the session's id, its end
-- or '', now, the most live sessions of the subject or '', then its values in `values::ORDER`
-- (9). Ended sessions leave the hash and the index as new ones come, so a client that signs
-- in often and never signs out leaves nothing behind. With a limit, the subject's least
-- recently used live sessions that the new one makes too many end in the same step; their ids
-- come back after 'created'. An 'adopt' answer names the sessions of the older layout among
-- them, to move in (adopt.lua) before trying again.
local id, ends, now, max = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local others = {}
if max ~= '' then
  local listed = {}
  for _, other in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[3], '+inf')) do
    if other ~= id then table.insert(listed, other) end
  end
  local moving = adopt(unmoved(listed))
  if moving then return moving end
  for _, other in ipairs(listed) do
    local s = cmsgpack.unpack(redis.call('HGET', KEYS[1], other))
    table.insert(others, {s[REFRESHED], s[CREATED], other})
  end
end
redis.call('HSET', KEYS[1], id, cmsgpack.pack({tonumber(ARGV[5]), tonumber(ARGV[6]),
  tonumber(ARGV[7]), ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13]}))
redis.call('ZADD', KEYS[2], ends == '' and '+inf' or ends, id)
for _, ended in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])) do
  redis.call('HDEL', KEYS[1], ended)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
local evicted = {'created'}
if max ~= '' then
  -- The order of `tokengate_store::evicted`: the least recently used first.
  table.sort(others, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[3] < b[3]
  end)
  local keep = math.max(tonumber(max) - 1, 0)
  for n = 1, #others - keep do
    drop(others[n][3])
    table.insert(evicted, others[n][3])
  end
end
settle()
return evicted
