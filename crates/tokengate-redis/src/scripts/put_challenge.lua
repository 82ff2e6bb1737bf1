-- KEYS: the challenge, a hash {state, expires_at}. ARGV: its state, its end (Unix seconds),
-- when the server drops it (its end and a margin for clocks apart). Replaces any challenge
-- under the key.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'expires_at', ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
