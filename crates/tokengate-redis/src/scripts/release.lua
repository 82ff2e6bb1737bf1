-- KEYS: counter. Gives one attempt back; the window keeps its end.
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
