-- KEYS: the claim on a credential id. ARGV: the claim expected ('' for none), the claim to put
-- in its place ('' to remove it). Swaps only if the claim held is the one expected:
-- {1, the claim held} when swapped, else {0, the claim held} ('' for none), and nothing
-- changes.
local found = redis.call('GET', KEYS[1]) or ''
if found ~= ARGV[1] then return {0, found} end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return {1, found}
