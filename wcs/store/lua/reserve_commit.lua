-- reserve_commit: all-or-nothing reservation of an order's lines.
-- KEYS[4] order reservations hash (quant key -> qty held), KEYS[5..] quants.
-- ARGV[7] order id, ARGV[7+i] qty (> 0) on KEYS[4+i]. Lines on the same quant are summed.
-- Returns {'ok'}, {'dup'}, or {'short', quant, requested, available, ...} changing nothing.
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
local keys, want = sum_lines(4, 7, n)
if not keys then
    return want
end
if seen() then
    return {'dup'}
end
local short, before, after, units = reserve_all(keys, want, KEYS[4])
if short then
    return {'short', unpack(short)}
end
redis.call('HINCRBY', KEYS[3], 'reservations', 1)
redis.call('HINCRBY', KEYS[3], 'reserved_units', units)
journal('reserve', ARGV[7], before, after)
return done()
