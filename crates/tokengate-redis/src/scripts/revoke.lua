-- KEYS: session. ARGV: prefix.
local s = redis.call('HMGET', KEYS[1], 'subject', 'id')
if not s[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[1] .. ':subject:' .. s[1], s[2])
return 1
