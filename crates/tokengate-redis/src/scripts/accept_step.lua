-- KEYS: the subject's factors (see factor.lua). ARGV: the factor's id, the step, now. The rule
-- of `Factor::accept` for an active factor (which has no end): 1 when the step is past its
-- last one, and is recorded with `now` as its last use; else 0, and nothing changes.
local found = redis.call('HGET', KEYS[1], ARGV[1])
if not found then return 0 end
local factor = cjson.decode(found)
if factor.confirmed_at == '' then return 0 end
if tonumber(ARGV[2]) <= tonumber(factor.last_step) then return 0 end
factor.last_step = ARGV[2]
factor.last_used_at = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(factor))
return 1
