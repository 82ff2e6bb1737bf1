-- KEYS: counter. ARGV: limit, window in seconds. Grants and counts an attempt, or refuses
-- it uncounted when the open window holds the limit: {granted 1/0, count, seconds left}.
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('TTL', KEYS[1])
if count > 0 and ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if count >= tonumber(ARGV[1]) then return {0, count, ttl} end
count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {1, count, ttl}
