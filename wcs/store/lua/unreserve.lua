-- unreserve: releases what an order holds.
-- KEYS[4] order reservations hash, KEYS[5..] quants; ARGV[7] order id, ARGV[7+i] qty (>= 0;
-- 0 releases everything the order holds on KEYS[4+i]). Refused if the order holds less.
local n = #KEYS - 4
if n < 1 then
    return err('EARG', 'no lines')
end
if #ARGV ~= 7 + n then
    return err('EARG', 'expected one quantity per quant')
end
if not is_id(ARGV[7]) then
    return err('EARG', 'bad order id')
end
local want, all, keys = {}, {}, {}
for i = 1, n do
    local q = int_arg(ARGV[7 + i])
    if not q or q < 0 then
        return err('EARG', 'quantity must be a non-negative integer: ' .. ARGV[7 + i])
    end
    local k = KEYS[4 + i]
    if not want[k] then
        want[k] = 0
        keys[#keys + 1] = k
    end
    want[k] = want[k] + q
    if q == 0 then
        all[k] = true
    end
end
if seen() then
    return {'dup'}
end
local before, after = {}, {}
for _, k in ipairs(keys) do
    local held = num(redis.call('HGET', KEYS[4], k))
    local reserved = num(redis.call('HGET', k, 'reserved'))
    if all[k] then
        want[k] = held
    end
    if want[k] == 0 then
        return err('ESTATE', 'order ' .. ARGV[7] .. ' holds nothing on ' .. k)
    end
    if held < want[k] then
        return err('ESTATE', 'order ' .. ARGV[7] .. ' holds ' .. held .. ' on ' .. k ..
            ', asked ' .. want[k])
    end
    if reserved < want[k] then
        return err('ESTATE', 'quant ' .. k .. ' has only ' .. reserved .. ' reserved')
    end
    before[k] = reserved
end
for _, k in ipairs(keys) do
    after[k] = redis.call('HINCRBY', k, 'reserved', -want[k])
    if redis.call('HINCRBY', KEYS[4], k, -want[k]) == 0 then
        redis.call('HDEL', KEYS[4], k)
    end
end
journal('unreserve', ARGV[7], before, after)
return done()
