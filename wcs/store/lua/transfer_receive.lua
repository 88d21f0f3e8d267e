-- transfer_receive: units of a transfer in transit arrive at the destination warehouse: each
-- moves from its transit quant (on_hand and the transfer's reservation) into the same product
-- and lot at the destination location. Partial receipts leave the rest in transit; the
-- transfer is 'done' when nothing is left.
-- The C side reads the reservations first and chooses the quantities.
-- KEYS[4] transfer, KEYS[5] its reservations, KEYS[6] the destination's quant set, then n
-- transit quants, n destination quants (same order), n sku index sets.
-- ARGV[7] transfer id, ARGV[8] n, ARGV[8+i] qty (> 0) from transit quant i.
-- Returns {'ok', units received now, state, units left in transit}.
local n = int_arg(ARGV[8] or '')
if not n or n < 1 or #KEYS ~= 6 + 3 * n or #ARGV ~= 8 + n or not is_id(ARGV[7]) then
    return err('EARG', 'transfer_receive takes 6 + 3n keys and 8 + n arguments')
end
local want = {}
for i = 1, n do
    want[i] = int_arg(ARGV[8 + i])
    if not want[i] or want[i] <= 0 then
        return err('EARG', 'quantity must be a positive integer: ' .. ARGV[8 + i])
    end
end
if seen() then
    return {'dup'}
end
local t = redis.call('HMGET', KEYS[4], 'state', 'dest', 'received')
if not t[1] then
    return err('EUNKNOWN', 'unknown transfer "' .. ARGV[7] .. '"')
end
if t[1] ~= 'in_transit' then
    return err('ESTATE', 'transfer ' .. ARGV[7] .. ' is ' .. t[1] ..
        ': only a transfer in transit can be received')
end
for i = 1, n do
    local src = KEYS[6 + i]
    local held = num(redis.call('HGET', KEYS[5], src))
    local v = redis.call('HMGET', src, 'on_hand', 'reserved')
    if held < want[i] then
        return err('ESTATE', 'transfer ' .. ARGV[7] .. ' has ' .. held .. ' in transit on ' ..
            src .. ', received ' .. want[i])
    end
    if num(v[1]) < want[i] or num(v[2]) < want[i] then
        return err('ESTATE', 'quant ' .. src .. ' has on_hand ' .. num(v[1]) .. ' reserved ' ..
            num(v[2]) .. ', received ' .. want[i])
    end
end
local units = 0
for i = 1, n do
    local src, dst, q = KEYS[6 + i], KEYS[6 + n + i], want[i]
    local sv = redis.call('HMGET', src, 'on_hand', 'sku', 'lot')
    local from_before = num(sv[1])
    local to_before = num(redis.call('HGET', dst, 'on_hand'))
    redis.call('HINCRBY', src, 'on_hand', -q)
    redis.call('HINCRBY', src, 'reserved', -q)
    if redis.call('HINCRBY', KEYS[5], src, -q) == 0 then
        redis.call('HDEL', KEYS[5], src)
    end
    redis.call('HSETNX', dst, 'reserved', 0)
    redis.call('HSET', dst, 'sku', sv[2], 'loc', t[2], 'lot', sv[3] or '')
    redis.call('HINCRBY', dst, 'on_hand', q)
    redis.call('SADD', KEYS[6], dst)
    redis.call('SADD', KEYS[6 + 2 * n + i], dst)
    units = units + q
    journal('transfer_receive', ARGV[7], {from = src, from_on_hand = from_before, to = dst,
        to_on_hand = to_before}, {from = src, from_on_hand = from_before - q, to = dst,
        to_on_hand = to_before + q, qty = q, sku = sv[2]})
end
local left = 0
local r = redis.call('HVALS', KEYS[5])
for _, v in ipairs(r) do
    left = left + num(v)
end
local state = left == 0 and 'done' or 'in_transit'
redis.call('HSET', KEYS[4], 'state', state, 'received', num(t[3]) + units, 'updated_ts', ARGV[4])
if state == 'done' then
    redis.call('HSET', KEYS[4], 'done_ts', ARGV[4])
    redis.call('HINCRBY', KEYS[3], 'transfers_done', 1)
end
redis.call('HINCRBY', KEYS[3], 'transfer_received_units', units)
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(units), state, tostring(left)}
