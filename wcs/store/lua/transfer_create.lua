-- transfer_create: an inter-warehouse transfer reserves its stock in the source warehouse, all
-- or nothing, exactly on the quants the C side chose (reserve_commit's rule: on_hand - reserved
-- >= qty per quant), and records the transfer in state 'reserved'.
-- KEYS[4] transfer hash, KEYS[5] its reservations hash (quant -> qty), KEYS[6..] quants.
-- ARGV[7] transfer id, ARGV[8] from warehouse, ARGV[9] to warehouse, ARGV[10] lines JSON,
-- ARGV[11] transit location, ARGV[12] destination location, ARGV[12+i] qty on KEYS[5+i].
-- Returns {'ok', units} or ESTATE 'transfer T exists' / 'stock moved since it was read ...'.
local n = #KEYS - 5
if n < 1 or #ARGV ~= 12 + n then
    return err('EARG', 'transfer_create takes one quantity per quant')
end
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not is_id(ARGV[9]) or not is_path(ARGV[11]) or
    not is_path(ARGV[12]) then
    return err('EARG', 'bad transfer, warehouse or location')
end
local keys, want = sum_lines(5, 12, n)
if not keys then
    return want
end
if seen() then
    return {'dup'}
end
if redis.call('EXISTS', KEYS[4]) == 1 then
    return err('ESTATE', 'transfer ' .. ARGV[7] .. ' exists')
end
local short, before, after, units = reserve_all(keys, want, KEYS[5])
if short then
    return err('ESTATE', 'stock moved since it was read: quant ' .. short[1] .. ' has ' ..
        short[3] .. ' available, ' .. short[2] .. ' wanted; retry')
end
redis.call('HSET', KEYS[4], 'state', 'reserved', 'from', ARGV[8], 'to', ARGV[9], 'lines',
    ARGV[10], 'transit', ARGV[11], 'dest', ARGV[12], 'units', units, 'shipped', 0, 'received', 0,
    'by', ARGV[1], 'created_ts', ARGV[4], 'updated_ts', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'transfers', 1)
redis.call('HINCRBY', KEYS[3], 'reservations', 1)
redis.call('HINCRBY', KEYS[3], 'reserved_units', units)
journal('transfer_create', ARGV[7], before, after)
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(units)}
