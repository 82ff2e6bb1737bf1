-- KEYS: the challenge (see put_challenge.lua). ARGV: now. Takes the challenge: its state when
-- it ends after `now`, else nothing; either way it is gone.
local found = redis.call('HMGET', KEYS[1], 'state', 'expires_at')
if not found[1] then return false end
redis.call('DEL', KEYS[1])
if tonumber(found[2]) <= tonumber(ARGV[1]) then return false end
return found[1]
