-- KEYS: the subject's sessions, its index (see session.lua). ARGV: now. The sessions live at
-- `now`: 'listed', then for each its id and its values (see `values`), 11 entries a session;
-- or an 'adopt' answer (see create.lua).
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
local moving = adopt(unmoved(ids))
if moving then return moving end
local listed = {'listed'}
for _, id in ipairs(ids) do
  local packed = redis.call('HGET', KEYS[1], id)
  if packed then
    table.insert(listed, id)
    for _, value in ipairs(values(cmsgpack.unpack(packed), ends_of(id))) do
      table.insert(listed, value)
    end
  end
end
return listed
