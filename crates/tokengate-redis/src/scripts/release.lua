-- KEYS: the counter. ARGV: now. Gives one attempt back to the window open at `now`; the
-- window keeps its end. A window given back to zero (or ended) is deleted: it protects nothing.
local w = redis.call('HMGET', KEYS[1], 'count', 'ends_at')
local count = tonumber(w[1] or '0')
if count > 1 and tonumber(w[2] or '0') > tonumber(ARGV[1]) then
  redis.call('HINCRBY', KEYS[1], 'count', -1)
elseif w[1] then
  redis.call('DEL', KEYS[1])
end
return count
