-- KEYS: the subject's factors, its recovery codes. ARGV: the factor's id, the step, now, then
-- the recovery codes (hashed). The rule of `Factor::accept` for a pending factor: 0 when none
-- is live under that id (unknown, at its end, or active already) or the step is not past its
-- last one; else it is active from now on, and the answer is 2 when it is the subject's first
-- active factor and the codes were stored (replacing any left), 1 otherwise.
local now = tonumber(ARGV[3])
local factors = held()
local factor = factors[ARGV[1]]
if not factor or factor.confirmed_at ~= '' or not is_live(factor, now) then return 0 end
if tonumber(ARGV[2]) <= tonumber(factor.last_step) then return 0 end
local first = not any_active(factors)
factor.confirmed_at = ARGV[3]
factor.expires_at = ''
factor.last_step = ARGV[2]
factor.last_used_at = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(factor))
redis.call('PERSIST', KEYS[1])
if not first then return 1 end
redis.call('DEL', KEYS[2])
if #ARGV > 3 then redis.call('SADD', KEYS[2], unpack(ARGV, 4)) end
return 2
