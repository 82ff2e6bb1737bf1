-- The rules of `Refreshed::decide`, on the server. KEYS: the session, its subject's index.
-- ARGV: presented token id, now, new token id or '', grace, subject, idle timeout or '',
-- the touch interval (the last use is written at most once per this many seconds).
local s = redis.call('HMGET', KEYS[1], 'token', 'previous', 'rotated_at', 'expires_at', 'subject', 'id', 'refreshed_at')
if not s[1] then return {'gone'} end
local now = tonumber(ARGV[2])
if s[4] ~= '' and tonumber(s[4]) <= now then return {'gone'} end
if s[5] ~= ARGV[5] then return {'gone'} end
if ARGV[6] ~= '' and now - tonumber(s[7]) > tonumber(ARGV[6]) then
  -- Unused for longer than the idle timeout: the session ends.
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], s[6])
  return {'gone'}
end
if s[1] == ARGV[1] then
  if ARGV[3] ~= '' then
    redis.call('HSET', KEYS[1], 'refreshed_at', ARGV[2], 'previous', s[1], 'token', ARGV[3], 'rotated_at', ARGV[2])
  elseif now - tonumber(s[7]) >= tonumber(ARGV[7]) then
    redis.call('HSET', KEYS[1], 'refreshed_at', ARGV[2])
  end
  local all = redis.call('HGETALL', KEYS[1])
  table.insert(all, 1, 'current')
  return all
end
if ARGV[3] == '' then return {'gone'} end
local all = redis.call('HGETALL', KEYS[1])
if s[2] == ARGV[1] and now - tonumber(s[3]) <= tonumber(ARGV[4]) then
  table.insert(all, 1, 'replaced')
  return all
end
-- A token of this session that rotation already replaced: stolen, or replayed.
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], s[6])
table.insert(all, 1, 'reused')
return all
