-- request_settle: stores the reply of a command answered before anything ran under its claim
-- (the claim's own answer was lost with the link, so the claim may have landed or not) in place
-- of the claim's token, so that a repeat of the request id is answered with that reply instead
-- of "still being processed" for the claim's whole TTL. Always guarded (docs/redis.md,
-- "Requests"): the prelude refuses with ECLAIM, changing nothing, when the key holds anything
-- but this claim's token (the claim never landed, another call's claim, a stored reply).
-- KEYS[4] the request key (the guard's too); ARGV[7] the reply (a JSON object), ARGV[8] its TTL
-- in seconds. Not journaled, as no request key is. Returns {'ok'}.
if #KEYS ~= 4 or #ARGV ~= 8 then
    return err('EARG', 'request_settle takes 4 keys and 8 arguments, guarded')
end
local ttl = int_arg(ARGV[8])
if string.sub(ARGV[7], 1, 1) ~= '{' or not ttl or ttl < 1 then
    return err('EARG', 'the reply must be a JSON object and the TTL positive')
end
redis.call('SET', KEYS[4], ARGV[7], 'EX', ttl)
return {'ok'}
