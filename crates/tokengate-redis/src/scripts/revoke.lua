-- KEYS: the session, its subject's index. ARGV: now. Ends the session; 1 if it was live.
local s = redis.call('HMGET', KEYS[1], 'id', 'expires_at')
if not s[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], s[1])
if s[2] ~= '' and tonumber(s[2]) <= tonumber(ARGV[1]) then return 0 end
return 1
