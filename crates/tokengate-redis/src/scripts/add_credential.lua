-- KEYS: the subject's factors, its recovery codes, the void mark of this call's claim. ARGV:
-- the most live factors the subject may hold, how many recovery codes follow, the codes
-- (hashed), then field, value pairs of the passkey (active, with its credential id and the
-- mark of its claim). The subject's expired pending factors are dropped, then: -1 when the
-- claim was taken over (void) or the subject holds a factor with that credential id already;
-- 0 when the subject holds that many live factors, or one with its id; else it is added, and
-- the answer is 2 when it is the subject's first active factor and the codes were stored
-- (replacing any left), 1 otherwise. The time is the passkey's `created_at`.
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local codes = tonumber(ARGV[2])
local factor = {}
for i = 3 + codes, #ARGV, 2 do factor[ARGV[i]] = ARGV[i + 1] end
local now = tonumber(factor.created_at)
local factors = held()
local live, taken = 0, false
for id, other in pairs(factors) do
  if is_live(other, now) then
    live = live + 1
    if other.credential == factor.credential then taken = true end
  else
    redis.call('HDEL', KEYS[1], id)
    factors[id] = nil
  end
end
local answer
if taken then
  answer = -1
elseif live >= tonumber(ARGV[1]) or factors[factor.id] then
  answer = 0
else
  answer = any_active(factors) and 1 or 2
  redis.call('HSET', KEYS[1], factor.id, cjson.encode(factor))
  factors[factor.id] = factor
end
settle(factors)
if answer == 2 then
  redis.call('DEL', KEYS[2])
  if codes > 0 then redis.call('SADD', KEYS[2], unpack(ARGV, 3, 2 + codes)) end
end
return answer
