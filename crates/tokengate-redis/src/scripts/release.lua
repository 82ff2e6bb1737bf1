-- KEYS: the counter. ARGV: now. Gives one attempt back to the window open at `now`; the
-- window keeps its end.
local w = redis.call('HMGET', KEYS[1], 'count', 'ends_at')
local count = tonumber(w[1] or '0')
if count > 0 and tonumber(w[2] or '0') > tonumber(ARGV[1]) then
  redis.call('HINCRBY', KEYS[1], 'count', -1)
end
return count
