-- pick_confirm: a confirmed pick moves qty from a quant (on_hand and reserved) and from the
-- order's reservation into a tote's contents.
-- KEYS[4] order reservations hash, KEYS[5] quant, KEYS[6] tote contents hash, KEYS[7] tote hash.
-- ARGV[7] order id, ARGV[8] qty (> 0), ARGV[9] tote id, ARGV[10] contents field "<sku>:<lot>".
if #KEYS ~= 7 or #ARGV ~= 10 then
    return err('EARG', 'pick_confirm takes 7 keys and 10 arguments')
end
local q = int_arg(ARGV[8])
if not is_id(ARGV[7]) or not is_id(ARGV[9]) then
    return err('EARG', 'bad order or tote id')
end
if not q or q <= 0 then
    return err('EARG', 'quantity must be a positive integer: ' .. ARGV[8])
end
if not string.match(ARGV[10], '^[%w_.%-]+:[%w_.%-]*$') then
    return err('EARG', 'bad contents field')
end
if seen() then
    return {'dup'}
end
local held = num(redis.call('HGET', KEYS[4], KEYS[5]))
local v = redis.call('HMGET', KEYS[5], 'on_hand', 'reserved')
local on_hand, reserved = num(v[1]), num(v[2])
if held < q then
    return err('ESTATE', 'order ' .. ARGV[7] .. ' holds ' .. held .. ' on ' .. KEYS[5] ..
        ', picked ' .. q)
end
if reserved < q or on_hand < q then
    return err('ESTATE', 'quant ' .. KEYS[5] .. ' has on_hand ' .. on_hand .. ' reserved ' ..
        reserved .. ', picked ' .. q)
end
local t = redis.call('HMGET', KEYS[7], 'order', 'state')
if t[1] and t[1] ~= ARGV[7] and t[2] ~= 'shipped' then
    return err('ESTATE', 'tote ' .. ARGV[9] .. ' belongs to order ' .. t[1])
end
local in_tote = num(redis.call('HGET', KEYS[6], ARGV[10]))
redis.call('HINCRBY', KEYS[5], 'on_hand', -q)
redis.call('HINCRBY', KEYS[5], 'reserved', -q)
if redis.call('HINCRBY', KEYS[4], KEYS[5], -q) == 0 then
    redis.call('HDEL', KEYS[4], KEYS[5])
end
redis.call('HINCRBY', KEYS[6], ARGV[10], q)
redis.call('HSET', KEYS[7], 'order', ARGV[7], 'state', 'picking', 'ts', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'picks', 1)
redis.call('HINCRBY', KEYS[3], 'picked_units', q)
journal('pick', ARGV[9],
    {quant = KEYS[5], on_hand = on_hand, reserved = reserved, order_held = held, tote = in_tote},
    {quant = KEYS[5], on_hand = on_hand - q, reserved = reserved - q, order_held = held - q,
     tote = in_tote + q, item = ARGV[10], order = ARGV[7]})
return done()
