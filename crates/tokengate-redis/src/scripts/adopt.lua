-- KEYS: the subject's sessions, its index (see session.lua), then the keys in the older
-- layout of sessions the index holds and the hash does not. ARGV: their ids, in the same
-- order. Moves each into the hash; one whose key is gone (it ended) leaves the index. The
-- number of sessions moved.
local moved = 0
for i, id in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[1], id) == 0 then
    local packed = repack(redis.call('HGETALL', KEYS[i + 2]))
    if packed then
      redis.call('HSET', KEYS[1], id, packed)
      redis.call('DEL', KEYS[i + 2])
      moved = moved + 1
    else
      redis.call('ZREM', KEYS[2], id)
    end
  end
end
settle()
return moved
