-- KEYS: the subject's factors, its recovery codes. ARGV: the code (hashed). Spends it: 1 when
-- the subject has an active factor and the code was among its codes (it no longer is), else 0.
if not any_active(held()) then return 0 end
return redis.call('SREM', KEYS[2], ARGV[1])
