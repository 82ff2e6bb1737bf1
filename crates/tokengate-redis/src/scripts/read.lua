-- KEYS: the subject's sessions, its index (see session.lua), the session's key in the older
-- layout. ARGV: the session's id, now. The session's values (see `values`) while it is live
-- at `now`, else an empty answer.
local s = load(ARGV[1], 3)
if not s then return {} end
local ends = ends_of(ARGV[1])
if not live(ends, tonumber(ARGV[2])) then return {} end
return values(s, ends)
