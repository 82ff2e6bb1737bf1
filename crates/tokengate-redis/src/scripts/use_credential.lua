-- KEYS: the subject's factors (see factor.lua). ARGV: the factor's id, the signature counter,
-- the passkey's state after the sign-in (sealed), now. The rule of `CredentialUse::fits`: 1
-- when the factor is an active passkey and the counter is past its last one (or both are 0),
-- and the use is recorded (the counter, the state and `now` as its last use); else 0, and
-- nothing changes.
local found = redis.call('HGET', KEYS[1], ARGV[1])
if not found then return 0 end
local factor = cjson.decode(found)
if factor.confirmed_at == '' or not factor.credential then return 0 end
local counter, last = tonumber(ARGV[2]), tonumber(factor.last_step)
if counter > last then
  factor.last_step = ARGV[2]
elseif counter ~= 0 or last ~= 0 then
  return 0
end
factor.secret = ARGV[3]
factor.last_used_at = ARGV[4]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(factor))
return 1
