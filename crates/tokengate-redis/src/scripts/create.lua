-- KEYS: the session, its subject's index. ARGV: field, value pairs in `FIELDS` order, then now.
-- The index is a sorted set of the subject's session ids scored by when each ends (+inf for
-- an unlimited one). Ended sessions leave it as new ones come, and it expires with its
-- longest-lived session (never while an unlimited one lives), so a client that signs in often
-- and never signs out leaves nothing behind.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 1, 20))
local expires_at = ARGV[14]
local score = '+inf'
if expires_at ~= '' then
  redis.call('EXPIREAT', KEYS[1], expires_at)
  score = expires_at
end
redis.call('ZADD', KEYS[2], score, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[21])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] == 'inf' or last[2] == '+inf' then
  redis.call('PERSIST', KEYS[2])
elseif last[2] then
  redis.call('EXPIREAT', KEYS[2], last[2])
end
return 1
