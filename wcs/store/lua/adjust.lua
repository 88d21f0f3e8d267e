-- adjust: an inventory correction with a reason; on_hand may reach zero, never below zero nor
-- below what is reserved. A positive adjust on a missing quant creates it (found stock).
-- KEYS[4] quant, KEYS[5] location index set, KEYS[6] sku index set.
-- ARGV[7] delta (signed, not 0), ARGV[8] reason, ARGV[9] sku, ARGV[10] location, ARGV[11] lot,
-- ARGV[12] (optional) the value of the |delta| units in cents ('' unknown): KPI
-- adjusted_value_cents.
if #KEYS ~= 6 or (#ARGV ~= 11 and #ARGV ~= 12) then
    return err('EARG', 'adjust takes 6 keys and 11 or 12 arguments')
end
local value = (ARGV[12] or '') ~= '' and int_arg(ARGV[12]) or nil
if (ARGV[12] or '') ~= '' and (not value or value < 0) then
    return err('EARG', 'value must be a non-negative integer of cents: ' .. ARGV[12])
end
local d = int_arg(ARGV[7])
if not d or d == 0 then
    return err('EARG', 'delta must be a non-zero integer: ' .. ARGV[7])
end
if ARGV[8] == '' or #ARGV[8] > 256 then
    return err('EARG', 'reason must be 1..256 bytes')
end
if not is_id(ARGV[9]) or not is_path(ARGV[10]) or not is_lot(ARGV[11]) then
    return err('EARG', 'bad sku, location or lot')
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[4], 'on_hand', 'reserved')
local on_hand, reserved = num(v[1]), num(v[2])
if on_hand + d < 0 then
    return err('ESTATE', 'quant ' .. KEYS[4] .. ' has ' .. on_hand .. ', adjust ' .. d ..
        ' would make it negative')
end
if on_hand + d < reserved then
    return err('ESTATE', 'quant ' .. KEYS[4] .. ' has ' .. reserved .. ' reserved, adjust ' ..
        d .. ' would leave ' .. (on_hand + d))
end
if not v[1] then
    redis.call('HSET', KEYS[4], 'sku', ARGV[9], 'loc', ARGV[10], 'lot', ARGV[11], 'reserved', 0)
    redis.call('SADD', KEYS[5], KEYS[4])
    redis.call('SADD', KEYS[6], KEYS[4])
end
redis.call('HINCRBY', KEYS[4], 'on_hand', d)
redis.call('HINCRBY', KEYS[3], 'adjustments', 1)
if value then
    redis.call('HINCRBY', KEYS[3], 'adjusted_value_cents', value)
end
if d > 0 then
    redis.call('HINCRBY', KEYS[3], 'adjusted_units_in', d)
else
    redis.call('HINCRBY', KEYS[3], 'adjusted_units_out', -d)
end
journal('adjust', ARGV[9], {quant = KEYS[4], on_hand = on_hand},
    {quant = KEYS[4], on_hand = on_hand + d, delta = d, reason = ARGV[8], value_cents = value})
return done()
