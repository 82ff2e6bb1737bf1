-- The rules of `Refreshed::decide`, on the server. KEYS: the subject's sessions, its index
-- (see session.lua), the session's key in the older layout. ARGV: the session's id, presented
-- token id, now, new token id or '', grace, idle timeout or '', the touch interval (the last
-- use is written at most once per this many seconds). The answer: the outcome, then the
-- session's values (see `values`).
local id = ARGV[1]
local now = tonumber(ARGV[3])
local s = load(id, 3)
if not s then return {'gone'} end
local ends = ends_of(id)
if not live(ends, now) then return {'gone'} end
if ARGV[6] ~= '' and now - s[REFRESHED] > tonumber(ARGV[6]) then
  -- Unused for longer than the idle timeout: the session ends.
  drop(id)
  return {'gone'}
end
local function answer(outcome)
  local all = values(s, ends)
  table.insert(all, 1, outcome)
  return all
end
if s[TOKEN] == ARGV[2] then
  if ARGV[4] ~= '' then
    s[REFRESHED], s[PREVIOUS], s[TOKEN], s[ROTATED] = now, s[TOKEN], ARGV[4], now
    store(id, s)
  elseif now - s[REFRESHED] >= tonumber(ARGV[7]) then
    s[REFRESHED] = now
    store(id, s)
  end
  return answer('current')
end
if ARGV[4] == '' then return {'gone'} end
if s[PREVIOUS] == ARGV[2] and now - s[ROTATED] <= tonumber(ARGV[5]) then
  return answer('replaced')
end
-- A token of this session that rotation already replaced: stolen, or replayed.
drop(id)
return answer('reused')
