-- KEYS: the subject's index (see session.lua), its revocation fence. ARGV: now, then the ids
-- of the sessions a revocation just ended. 0 when one of them is live here again: the master
-- changed since, and the revocation was lost with the old one. Else 1, the fence written: a
-- write replicated after the revocation, so that a WAIT after it covers the revocation, even
-- when this call ended nothing itself (a sign-out tried again). See `replicas.rs`.
local now = tonumber(ARGV[1])
for n = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[n])
  if score then
    local ends = tonumber(score)
    if score == 'inf' or score == '+inf' or ends == nil or ends > now then return 0 end
  end
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', 60000)
return 1
