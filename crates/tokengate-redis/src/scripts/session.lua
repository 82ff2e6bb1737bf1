-- What every session script starts with. KEYS[1] is the subject's sessions: a hash of session
-- id to the session packed with MessagePack, an array of its values in the order below ('' for
-- none; times as integers). KEYS[2] is the subject's index: a sorted set of the same ids scored
-- by when each ends (+inf: unlimited), the one place a session's end is kept. The id and the
-- subject are in the keys, and are not stored again.
local CREATED, REFRESHED, ROTATED, TOKEN, PREVIOUS, CLAIMS, AGENT, ADDRESS, APPLICATION =
  1, 2, 3, 4, 5, 6, 7, 8, 9

-- The session's end as its index score holds it: `false` for unlimited, nil for none held.
local function ends_of(id)
  local score = redis.call('ZSCORE', KEYS[2], id)
  if not score then return nil end
  if score == 'inf' or score == '+inf' then return false end
  return tonumber(score)
end

-- Whether a session that ends at `ends` (see `ends_of`) is live at `now`.
local function live(ends, now)
  return ends == false or (ends ~= nil and ends > now)
end

-- The hash and the index live as long as the subject's longest-lived session (never while an
-- unlimited one lives): the server's clock only collects what the rules no longer count.
local function settle()
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  for key = 1, 2 do
    if last[2] == 'inf' or last[2] == '+inf' then
      redis.call('PERSIST', KEYS[key])
    elseif last[2] then
      redis.call('EXPIREAT', KEYS[key], last[2])
    end
  end
end

-- The packed values of a session hash of the older layout (one hash per session with named
-- fields), or nil for none.
local function repack(old)
  local f = {}
  for i = 1, #old, 2 do f[old[i]] = old[i + 1] end
  for _, at in ipairs({'created_at', 'refreshed_at', 'rotated_at'}) do
    if not tonumber(f[at]) then return nil end
  end
  if not (f.token and f.claims) then return nil end
  return cmsgpack.pack({tonumber(f.created_at), tonumber(f.refreshed_at),
    tonumber(f.rotated_at), f.token, f.previous or '', f.claims, f.user_agent or '',
    f.address or '', f.application or ''})
end

-- Session `id`, unpacked, or nil. KEYS[old] is its key in the older layout (a hash of its
-- own, with named fields): a session found only there is moved into the hash, in this step.
local function load(id, old)
  local packed = redis.call('HGET', KEYS[1], id)
  if not packed then
    packed = repack(redis.call('HGETALL', KEYS[old]))
    if packed then
      redis.call('HSET', KEYS[1], id, packed)
      redis.call('DEL', KEYS[old])
      settle()
    end
  end
  if not packed then return nil end
  return cmsgpack.unpack(packed)
end

local function store(id, s)
  redis.call('HSET', KEYS[1], id, cmsgpack.pack(s))
end

-- Ends session `id`: out of the hash and the index.
local function drop(id)
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end

-- The session's values as `values::parse` reads them, all text.
local function values(s, ends)
  local function int(n) return string.format('%d', n) end
  return {int(s[CREATED]), int(s[REFRESHED]), ends and int(ends) or '', int(s[ROTATED]),
    s[TOKEN], s[PREVIOUS], s[CLAIMS], s[AGENT], s[ADDRESS], s[APPLICATION]}
end

-- The ids of `ids` in the index whose session is not in the hash: sessions of the older
-- layout, for adopt.lua to move in (or, gone already, out of the index) before the step that
-- needs them runs again.
local function unmoved(ids)
  local missing = {}
  for _, id in ipairs(ids) do
    if redis.call('ZSCORE', KEYS[2], id) and redis.call('HEXISTS', KEYS[1], id) == 0 then
      table.insert(missing, id)
    end
  end
  return missing
end

-- An 'adopt' answer naming `missing`, or nil when none is.
local function adopt(missing)
  if #missing == 0 then return nil end
  table.insert(missing, 1, 'adopt')
  return missing
end
