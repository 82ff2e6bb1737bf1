-- KEYS: subject index. ARGV: prefix. Drops the ids of sessions that expired meanwhile.
local found = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local all = redis.call('HGETALL', ARGV[1] .. ':session:' .. id)
  if #all == 0 then
    redis.call('SREM', KEYS[1], id)
  else
    table.insert(found, all)
  end
end
return found
