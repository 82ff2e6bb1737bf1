-- KEYS: the subject's factors, its recovery codes. ARGV: the new codes (hashed). Replaces the
-- subject's codes when it has an active factor: 1; else 0, and nothing is stored.
if not any_active(held()) then return 0 end
redis.call('DEL', KEYS[2])
if #ARGV > 0 then redis.call('SADD', KEYS[2], unpack(ARGV)) end
return 1
