-- move: unreserved stock changes location (same sku and lot).
-- KEYS[4] source quant, KEYS[5] target quant, KEYS[6] target location index, KEYS[7] sku index.
-- ARGV[7] qty (> 0), ARGV[8] sku, ARGV[9] target location, ARGV[10] lot.
if #KEYS ~= 7 or #ARGV ~= 10 then
    return err('EARG', 'move takes 7 keys and 10 arguments')
end
local q = int_arg(ARGV[7])
if not q or q <= 0 then
    return err('EARG', 'quantity must be a positive integer: ' .. ARGV[7])
end
if not is_id(ARGV[8]) or not is_path(ARGV[9]) or not is_lot(ARGV[10]) then
    return err('EARG', 'bad sku, location or lot')
end
if KEYS[4] == KEYS[5] then
    return err('EARG', 'source and target are the same quant')
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[4], 'on_hand', 'reserved')
if not v[1] then
    return err('EUNKNOWN', 'no quant ' .. KEYS[4])
end
local on_hand, reserved = num(v[1]), num(v[2])
if on_hand - reserved < q then
    return err('ESTATE', 'quant ' .. KEYS[4] .. ' has ' .. (on_hand - reserved) ..
        ' unreserved, asked ' .. q)
end
local to_before = num(redis.call('HGET', KEYS[5], 'on_hand'))
redis.call('HINCRBY', KEYS[4], 'on_hand', -q)
redis.call('HSETNX', KEYS[5], 'reserved', 0)
redis.call('HSET', KEYS[5], 'sku', ARGV[8], 'loc', ARGV[9], 'lot', ARGV[10])
redis.call('HINCRBY', KEYS[5], 'on_hand', q)
redis.call('SADD', KEYS[6], KEYS[5])
redis.call('SADD', KEYS[7], KEYS[5])
redis.call('HINCRBY', KEYS[3], 'moves', 1)
redis.call('HINCRBY', KEYS[3], 'moved_units', q)
journal('move', ARGV[8], {from = KEYS[4], from_on_hand = on_hand, to = KEYS[5], to_on_hand = to_before},
    {from = KEYS[4], from_on_hand = on_hand - q, to = KEYS[5], to_on_hand = to_before + q, qty = q})
return done()
