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
local want, keys = {}, {}
for i = 1, n do
    local q = int_arg(ARGV[7 + i])
    if not q or q <= 0 then
        return err('EARG', 'quantity must be a positive integer: ' .. ARGV[7 + i])
    end
    local k = KEYS[4 + i]
    if not want[k] then
        want[k] = 0
        keys[#keys + 1] = k
    end
    want[k] = want[k] + q
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
