-- KEYS: the session, its subject's index, then (with a limit) the key of every session the
-- index held when it was read. ARGV: field, value pairs in `FIELDS` order (24), now, the most
-- live sessions of the subject or '', then the ids of KEYS[3..] in the same order. A 'retry'
-- answer carries the index as it is, to try again with.
-- The index is a sorted set of the subject's session ids scored by when each ends (+inf for
-- an unlimited one). Ended sessions leave it as new ones come, and it expires with its
-- longest-lived session (never while an unlimited one lives), so a client that signs in often
-- and never signs out leaves nothing behind. With a limit, the subject's least recently used
-- live sessions that the new one makes too many end in the same step; their ids come back.
local now = tonumber(ARGV[25])
local max = ARGV[26]
local id = ARGV[2]
local others = {}
if max ~= '' then
  -- A session added since the index was read is not among the keys: read it again.
  local passed = {}
  for i = 27, #ARGV do passed[ARGV[i]] = true end
  local index = redis.call('ZRANGE', KEYS[2], 0, -1)
  for _, listed in ipairs(index) do
    if listed ~= id and not passed[listed] then
      -- The index as it is now, for the next attempt.
      table.insert(index, 1, 'retry')
      return index
    end
  end
  for i = 3, #KEYS do
    local other = ARGV[i + 24]
    if other ~= id then
      local s = redis.call('HMGET', KEYS[i], 'refreshed_at', 'created_at', 'expires_at')
      if s[1] and (s[3] == '' or tonumber(s[3]) > now) then
        table.insert(others, {tonumber(s[1]), tonumber(s[2]), other, i})
      end
    end
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 1, 24))
local expires_at = ARGV[14]
local score = '+inf'
if expires_at ~= '' then
  redis.call('EXPIREAT', KEYS[1], expires_at)
  score = expires_at
end
redis.call('ZADD', KEYS[2], score, id)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[25])
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
    local other = others[n]
    redis.call('DEL', KEYS[other[4]])
    redis.call('ZREM', KEYS[2], other[3])
    table.insert(evicted, other[3])
  end
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] == 'inf' or last[2] == '+inf' then
  redis.call('PERSIST', KEYS[2])
elseif last[2] then
  redis.call('EXPIREAT', KEYS[2], last[2])
end
return evicted
