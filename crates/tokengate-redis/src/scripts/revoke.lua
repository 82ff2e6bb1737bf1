-- KEYS: the subject's sessions, its index (see session.lua), the session's key in the older
-- layout. ARGV: the session's id, now. Ends the session; 1 if it was live.
local id = ARGV[1]
local was = live(ends_of(id), tonumber(ARGV[2]))
drop(id)
redis.call('DEL', KEYS[3])
if was then return 1 end
return 0
