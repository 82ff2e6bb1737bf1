-- What every factor script but `accept_step` starts with. KEYS[1] is the subject's factors: a
-- hash of id to the factor as a JSON object whose values are all strings ('' for none), so
-- that a number is only ever compared here, never rewritten through a Lua float.

-- `Factor::is_live`: active (confirmed), or pending and not yet at its end at `now`.
local function is_live(factor, now)
  return factor.confirmed_at ~= '' or tonumber(factor.expires_at) > now
end

-- The subject's factors, decoded, by id.
local function held()
  local all = redis.call('HGETALL', KEYS[1])
  local factors = {}
  for i = 1, #all, 2 do factors[all[i]] = cjson.decode(all[i + 1]) end
  return factors
end

-- Whether one of `factors` is active.
local function any_active(factors)
  for _, factor in pairs(factors) do
    if factor.confirmed_at ~= '' then return true end
  end
  return false
end

-- The hash lives while an active factor does, else until its last pending factor ends: the
-- server's clock only collects what the rules above no longer count. (A hash left empty is
-- gone already.)
local function settle(factors)
  local last, last_text
  for _, factor in pairs(factors) do
    if factor.confirmed_at ~= '' then
      redis.call('PERSIST', KEYS[1])
      return
    end
    local ends = tonumber(factor.expires_at)
    if not last or ends > last then last, last_text = ends, factor.expires_at end
  end
  if last_text then redis.call('EXPIREAT', KEYS[1], last_text) end
end
