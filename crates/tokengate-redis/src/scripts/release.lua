-- KEYS: the counter. ARGV: the end of the window the attempt was counted in. Gives that
-- attempt back, when that window is still the counter's (an attempt that outlived its window
-- gives nothing back to the next). A window given back to zero is deleted: it protects nothing.
local w = redis.call('HMGET', KEYS[1], 'count', 'ends_at')
local count = tonumber(w[1] or '0')
if w[2] and tonumber(w[2]) == tonumber(ARGV[1]) then
  if count > 1 then
    redis.call('HINCRBY', KEYS[1], 'count', -1)
  else
    redis.call('DEL', KEYS[1])
  end
end
return count
