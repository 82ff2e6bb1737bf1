-- The rule of `Reissue::apply`, on the server. KEYS: the session. ARGV: the presented token
-- id, the new token id, the new claims, now, the subject, the session id. The session as
-- stored after (its HGETALL), or an empty answer when it is not live at `now`, not the
-- subject's, or the token is not its current one; nothing changes then. Its end, and so its
-- place in the subject's index, stays as it was.
local s = redis.call('HMGET', KEYS[1], 'token', 'expires_at', 'subject', 'id')
if not s[1] then return {} end
if s[2] ~= '' and tonumber(s[2]) <= tonumber(ARGV[4]) then return {} end
if s[3] ~= ARGV[5] or s[4] ~= ARGV[6] or s[1] ~= ARGV[1] then return {} end
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'claims', ARGV[3], 'previous', '',
  'refreshed_at', ARGV[4], 'rotated_at', ARGV[4])
return redis.call('HGETALL', KEYS[1])
