-- transfer_ship: a reserved transfer leaves its source warehouse: every unit it holds moves from
-- its source quant (on_hand and reserved) into the same product and lot at the transit
-- location, where the transfer holds it reserved (stock in transit is in no warehouse's
-- available stock). State 'reserved' -> 'in_transit'.
-- The C side reads the reservations first; 'changed meanwhile, retry' when they differ.
-- KEYS[4] transfer, KEYS[5] its reservations, KEYS[6] the transit location's quant set, then n
-- source quants, n transit quants (same order), n sku index sets.
-- ARGV[7] transfer id, ARGV[8] n. Returns {'ok', units}.
local n = int_arg(ARGV[8] or '')
if not n or n < 1 or #KEYS ~= 6 + 3 * n or #ARGV ~= 8 or not is_id(ARGV[7]) then
    return err('EARG', 'transfer_ship takes 6 + 3n keys and 8 arguments')
end
if seen() then
    return {'dup'}
end
local st = redis.call('HGET', KEYS[4], 'state')
if not st then
    return err('EUNKNOWN', 'unknown transfer "' .. ARGV[7] .. '"')
end
if st ~= 'reserved' then
    return err('ESTATE', 'transfer ' .. ARGV[7] .. ' is ' .. st ..
        ': only a reserved transfer can be shipped')
end
if redis.call('HLEN', KEYS[5]) ~= n then
    return err('ESTATE', 'transfer ' .. ARGV[7] .. ' changed meanwhile, retry')
end
local held = {}
for i = 1, n do
    local src = KEYS[6 + i]
    held[i] = num(redis.call('HGET', KEYS[5], src))
    local v = redis.call('HMGET', src, 'on_hand', 'reserved')
    if held[i] <= 0 then
        return err('ESTATE', 'transfer ' .. ARGV[7] .. ' changed meanwhile, retry')
    end
    if num(v[1]) < held[i] or num(v[2]) < held[i] then
        return err('ESTATE', 'quant ' .. src .. ' has on_hand ' .. num(v[1]) .. ' reserved ' ..
            num(v[2]) .. ', transfer holds ' .. held[i])
    end
end
local units = 0
for i = 1, n do
    local src, dst, q = KEYS[6 + i], KEYS[6 + n + i], held[i]
    local sv = redis.call('HMGET', src, 'on_hand', 'sku', 'lot')
    local from_before = num(sv[1])
    local to_before = num(redis.call('HGET', dst, 'on_hand'))
    redis.call('HINCRBY', src, 'on_hand', -q)
    redis.call('HINCRBY', src, 'reserved', -q)
    redis.call('HSETNX', dst, 'reserved', 0)
    redis.call('HSET', dst, 'sku', sv[2], 'loc', redis.call('HGET', KEYS[4], 'transit'), 'lot',
        sv[3] or '')
    redis.call('HINCRBY', dst, 'on_hand', q)
    redis.call('HINCRBY', dst, 'reserved', q)
    redis.call('HDEL', KEYS[5], src)
    redis.call('HINCRBY', KEYS[5], dst, q)
    redis.call('SADD', KEYS[6], dst)
    redis.call('SADD', KEYS[6 + 2 * n + i], dst)
    units = units + q
    journal('transfer_ship', ARGV[7], {from = src, from_on_hand = from_before, to = dst,
        to_on_hand = to_before}, {from = src, from_on_hand = from_before - q, to = dst,
        to_on_hand = to_before + q, qty = q, sku = sv[2]})
end
redis.call('HSET', KEYS[4], 'state', 'in_transit', 'shipped', units, 'shipped_ts', ARGV[4],
    'updated_ts', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'transfers_shipped', 1)
redis.call('HINCRBY', KEYS[3], 'transfer_shipped_units', units)
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(units)}
