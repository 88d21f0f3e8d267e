-- receive: stock arrives in a location; creates the quant when needed.
-- KEYS[4] quant, KEYS[5] location index set, KEYS[6] sku index set, KEYS[7] receipt hash.
-- ARGV[7] receipt id, ARGV[8] qty (> 0), ARGV[9] sku, ARGV[10] location, ARGV[11] lot.
if #KEYS ~= 7 or #ARGV ~= 11 then
    return err('EARG', 'receive takes 7 keys and 11 arguments')
end
local q = int_arg(ARGV[8])
if not is_id(ARGV[7]) or not is_id(ARGV[9]) or not is_path(ARGV[10]) or not is_lot(ARGV[11]) then
    return err('EARG', 'bad receipt id, sku, location or lot')
end
if not q or q <= 0 then
    return err('EARG', 'quantity must be a positive integer: ' .. ARGV[8])
end
if seen() then
    return {'dup'}
end
local on_hand = num(redis.call('HGET', KEYS[4], 'on_hand'))
redis.call('HSETNX', KEYS[4], 'reserved', 0)
redis.call('HSET', KEYS[4], 'sku', ARGV[9], 'loc', ARGV[10], 'lot', ARGV[11])
redis.call('HINCRBY', KEYS[4], 'on_hand', q)
redis.call('SADD', KEYS[5], KEYS[4])
redis.call('SADD', KEYS[6], KEYS[4])
redis.call('HINCRBY', KEYS[7], ARGV[9] .. ':' .. ARGV[11], q)
redis.call('HINCRBY', KEYS[3], 'receipts', 1)
redis.call('HINCRBY', KEYS[3], 'received_units', q)
journal('receive', ARGV[7], {quant = KEYS[4], on_hand = on_hand},
    {quant = KEYS[4], on_hand = on_hand + q, sku = ARGV[9], lot = ARGV[11], qty = q})
return done()
