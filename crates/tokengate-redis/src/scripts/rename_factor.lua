-- KEYS: the subject's factors. ARGV: the factor's id, its new name, now. 1 when a factor live
-- at `now` has that id, and it is named so; else 0, and nothing changes.
local found = redis.call('HGET', KEYS[1], ARGV[1])
if not found then return 0 end
local factor = cjson.decode(found)
if not is_live(factor, tonumber(ARGV[3])) then return 0 end
factor.name = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(factor))
return 1
