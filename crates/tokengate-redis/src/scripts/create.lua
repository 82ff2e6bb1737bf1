-- KEYS: session, subject index. ARGV: field, value pairs in `FIELDS` order, then the prefix.
-- Also drops from the subject index the ids of sessions that are gone, and keeps the index
-- exactly as long as its longest-lived session (for ever while an unlimited one lives), so
-- that a client that signs in often and never signs out leaves nothing behind.
local prefix = ARGV[21]
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 1, 20))
local expires_at = ARGV[14]
if expires_at ~= '' then redis.call('EXPIREAT', KEYS[1], expires_at) end
redis.call('SADD', KEYS[2], ARGV[2])
local latest = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local at = redis.call('HGET', prefix .. ':session:' .. id, 'expires_at')
  if not at then
    redis.call('SREM', KEYS[2], id)
  elseif at == '' then
    latest = -1
  elseif latest ~= -1 and tonumber(at) > latest then
    latest = tonumber(at)
  end
end
if latest == -1 then
  redis.call('PERSIST', KEYS[2])
elseif latest > 0 then
  redis.call('EXPIREAT', KEYS[2], latest)
end
return 1
