-- KEYS: the subject's factors, its recovery codes. ARGV: the factor's id, now. Removes the
-- factor, and drops the subject's expired pending ones: {-1, '', ''} when no live factor had
-- that id, else {how many active factors are left, the removed factor's credential id, the
-- mark of its claim} ('' for none: not a passkey); with no active factor left, the recovery
-- codes go too.
local now = tonumber(ARGV[2])
local factors = held()
local removed
local active = 0
for id, factor in pairs(factors) do
  local live = is_live(factor, now)
  if id == ARGV[1] or not live then
    redis.call('HDEL', KEYS[1], id)
    factors[id] = nil
    if id == ARGV[1] and live then removed = factor end
  elseif factor.confirmed_at ~= '' then
    active = active + 1
  end
end
settle(factors)
if not removed then return {-1, '', ''} end
if active == 0 then redis.call('DEL', KEYS[2]) end
return {active, removed.credential or '', removed.claim or ''}
