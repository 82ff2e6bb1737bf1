-- KEYS: the subject's factors. ARGV: the most live factors the subject may hold, then field,
-- value pairs of the new pending factor (`fields` of the factors module). The subject's
-- expired pending factors are dropped, then the new one is added unless the subject holds
-- that many live ones already, or one with its id: 1 added, 0 not. The time is the factor's
-- `created_at`.
local factor = {}
for i = 2, #ARGV, 2 do factor[ARGV[i]] = ARGV[i + 1] end
local now = tonumber(factor.created_at)
local factors = held()
local live = 0
for id, other in pairs(factors) do
  if is_live(other, now) then
    live = live + 1
  else
    redis.call('HDEL', KEYS[1], id)
    factors[id] = nil
  end
end
local added = 0
if live < tonumber(ARGV[1]) and not factors[factor.id] then
  redis.call('HSET', KEYS[1], factor.id, cjson.encode(factor))
  factors[factor.id] = factor
  added = 1
end
settle(factors)
return added
