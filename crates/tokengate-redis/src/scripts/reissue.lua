-- The rule of `Reissue::apply`, on the server. KEYS: the subject's sessions, its index (see
-- session.lua), the session's key in the older layout. ARGV: the session's id, the presented
-- token id, the new token id, the new claims, now. The session's values as stored after (see
-- `values`), or an empty answer when it is not live at `now` or the token is not its current
-- one; nothing changes then. Its end, and so its place in the index, stays as it was.
local id = ARGV[1]
local now = tonumber(ARGV[5])
local s = load(id, 3)
if not s then return {} end
local ends = ends_of(id)
if not live(ends, now) or s[TOKEN] ~= ARGV[2] then return {} end
s[TOKEN], s[CLAIMS], s[PREVIOUS], s[REFRESHED], s[ROTATED] = ARGV[3], ARGV[4], '', now, now
store(id, s)
return values(s, ends)
