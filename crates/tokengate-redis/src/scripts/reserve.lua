-- KEYS: the counter, a hash {count, ends_at}. ARGV: limit, window in seconds, now.
-- Grants and counts an attempt, or refuses it uncounted when the window open at `now` holds
-- the limit: {granted 1/0, count, ends_at}. The key expires when its window ends.
local w = redis.call('HMGET', KEYS[1], 'count', 'ends_at')
local now = tonumber(ARGV[3])
local count = tonumber(w[1] or '0')
local ends_at = tonumber(w[2] or '0')
if ends_at <= now then
  count = 0
  ends_at = now + tonumber(ARGV[2])
end
if count >= tonumber(ARGV[1]) then return {0, count, ends_at} end
count = count + 1
redis.call('HSET', KEYS[1], 'count', count, 'ends_at', ends_at)
redis.call('EXPIREAT', KEYS[1], ends_at)
return {1, count, ends_at}
