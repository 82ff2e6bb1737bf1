-- KEYS: the factors of the subject a claim on a credential id names, the void mark of that
-- claim. ARGV: the factor's id the claim names, the claim's mark, how long the void mark
-- lasts (seconds). 1 when the subject holds that factor, added under that claim: the claim
-- stands. Else 0, and the claim is marked void in the same step, so that its add, should it
-- still come, adds nothing: the caller may take the claim over.
local found = redis.call('HGET', KEYS[1], ARGV[1])
if found and cjson.decode(found).claim == ARGV[2] then return 1 end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
return 0
