-- KEYS: the subject's sessions, its index (see session.lua), the presenting session's key in
-- the older layout (the sessions again when none presents). ARGV: session id to keep or '',
-- whether a token presents ('1'/'0'), its jti, now, the rotation grace or '', the presenting
-- session's id or '', the one session to end or '', the most live sessions to end or ''
-- (a batch of a sign-out of all); with neither, every session of the index ends. The answer:
-- 'ended' and the ids of the live sessions that ended, or 'refused' when the presenting
-- token is not accepted (nothing ends), or an 'adopt' answer (see create.lua).
-- The rule of `Session::accepts`, then the revocation, in one step.
local keep, now = ARGV[1], tonumber(ARGV[4])
if ARGV[2] == '1' then
  local by = ARGV[6]
  local s = load(by, 3)
  if not s or not live(ends_of(by), now) then return {'refused'} end
  local current = s[TOKEN] == ARGV[3]
  local replaced = ARGV[5] ~= '' and s[PREVIOUS] == ARGV[3] and now - s[ROTATED] <= tonumber(ARGV[5])
  if not current and not replaced then return {'refused'} end
end
local ids
if ARGV[7] ~= '' then
  ids = {ARGV[7]}
elseif ARGV[8] ~= '' then
  local most = tonumber(ARGV[8])
  ids = {}
  local found = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[4], '+inf', 'LIMIT', 0, most + 1)
  for _, id in ipairs(found) do
    if id ~= keep and #ids < most then table.insert(ids, id) end
  end
else
  ids = redis.call('ZRANGE', KEYS[2], 0, -1)
end
local moving = adopt(unmoved(ids))
if moving then return moving end
local ended = {'ended'}
for _, id in ipairs(ids) do
  if id ~= keep then
    if live(ends_of(id), now) then table.insert(ended, id) end
    drop(id)
  end
end
return ended
