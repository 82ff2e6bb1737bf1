-- KEYS: the subject's factors (see factor.lua). ARGV: the factor's id, a credential id. The
-- factor as a flat list of field, value pairs when it is active and has that credential id;
-- else an empty list.
local found = redis.call('HGET', KEYS[1], ARGV[1])
if not found then return {} end
local factor = cjson.decode(found)
if factor.confirmed_at == '' or factor.credential ~= ARGV[2] then return {} end
local flat = {}
for field, value in pairs(factor) do
  table.insert(flat, field)
  table.insert(flat, value)
end
return flat
