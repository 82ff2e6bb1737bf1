-- KEYS: subject index, presenting session. ARGV: prefix, session id to keep or '', whether a
-- token presents ('1'/'0'), its jti, now, the rotation grace or '', the subject.
-- The rule of `Session::accepts`, then the revocation, in one step.
if ARGV[3] == '1' then
  local s = redis.call('HMGET', KEYS[2], 'token', 'previous', 'rotated_at', 'expires_at', 'subject')
  if not s[1] then return {'refused'} end
  local now = tonumber(ARGV[5])
  if s[4] ~= '' and tonumber(s[4]) <= now then return {'refused'} end
  if s[5] ~= ARGV[7] then return {'refused'} end
  local current = s[1] == ARGV[4]
  local replaced = ARGV[6] ~= '' and s[2] == ARGV[4] and now - tonumber(s[3]) <= tonumber(ARGV[6])
  if not current and not replaced then return {'refused'} end
end
local ended = {'ended'}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] then
    if redis.call('DEL', ARGV[1] .. ':session:' .. id) == 1 then table.insert(ended, id) end
    redis.call('SREM', KEYS[1], id)
  end
end
return ended
