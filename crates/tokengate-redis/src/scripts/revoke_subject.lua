-- KEYS: the subject's index, the presenting session (the index again when none presents),
-- then the key of every session the index held when it was read (or of the one session to
-- end). ARGV: session id to keep or '', whether a token presents ('1'/'0'), its jti, now, the
-- rotation grace or '', the subject, whether only the listed sessions end ('1'/'0': one
-- session by id, or a batch of a sign-out of all), then the ids of KEYS[3..] in the same
-- order. Otherwise every session of the index ends, and a 'retry' answer carries the index as
-- it is when a session was added since it was read.
-- The rule of `Session::accepts`, then the revocation, in one step.
local now = tonumber(ARGV[4])
if ARGV[2] == '1' then
  local s = redis.call('HMGET', KEYS[2], 'token', 'previous', 'rotated_at', 'expires_at', 'subject')
  if not s[1] then return {'refused'} end
  if s[4] ~= '' and tonumber(s[4]) <= now then return {'refused'} end
  if s[5] ~= ARGV[6] then return {'refused'} end
  local current = s[1] == ARGV[3]
  local replaced = ARGV[5] ~= '' and s[2] == ARGV[3] and now - tonumber(s[3]) <= tonumber(ARGV[5])
  if not current and not replaced then return {'refused'} end
end
if ARGV[7] ~= '1' then
  -- A session added since the index was read is not among the keys: read it again.
  local passed = {}
  for i = 8, #ARGV do passed[ARGV[i]] = true end
  local index = redis.call('ZRANGE', KEYS[1], 0, -1)
  for _, id in ipairs(index) do
    if not passed[id] then
      -- The index as it is now, for the next attempt.
      table.insert(index, 1, 'retry')
      return index
    end
  end
end
local ended = {'ended'}
for i = 3, #KEYS do
  local id = ARGV[i + 5]
  if id ~= ARGV[1] then
    local at = redis.call('HGET', KEYS[i], 'expires_at')
    if at and (at == '' or tonumber(at) > now) then table.insert(ended, id) end
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], id)
  end
end
return ended
