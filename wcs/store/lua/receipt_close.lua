-- receipt_close: ends receiving under a receipt: 'received' when every line got at least what
-- it expected, else 'closed' with the short lines (what the ERP books as a partial receipt).
-- KEYS[4] receipt, KEYS[5] open receipts set. ARGV[7] receipt id.
-- Returns {'ok', state, short JSON [{line, sku, lot, expected, received, short}], received
-- units, units}.
if #KEYS ~= 5 or #ARGV ~= 7 then
    return err('EARG', 'receipt_close takes 5 keys and 7 arguments')
end
if not is_id(ARGV[7]) then
    return err('EARG', 'bad receipt id')
end
if seen() then
    return {'dup'}
end
local r = redis.call('HMGET', KEYS[4], 'state', 'lines', 'received', 'received_units', 'units')
if not r[1] then
    return err('EUNKNOWN', 'unknown receipt "' .. ARGV[7] .. '"')
end
if r[1] ~= 'expected' and r[1] ~= 'receiving' then
    return err('ESTATE', 'receipt ' .. ARGV[7] .. ' is ' .. r[1] .. ' already')
end
local lines, received = cjson.decode(r[2]), cjson.decode(r[3])
local short = {}
for i, l in ipairs(lines) do
    local got = num(received[i])
    if got < l.qty then
        short[#short + 1] = {line = i - 1, sku = l.sku, lot = l.lot or '', expected = l.qty,
                             received = got, short = l.qty - got}
    end
end
local state = #short == 0 and 'received' or 'closed'
local sj = #short == 0 and '[]' or cjson.encode(short)
redis.call('HSET', KEYS[4], 'state', state, 'short', sj, 'closed_ts', ARGV[4], 'closed_by',
    ARGV[1], 'updated_ts', ARGV[4])
redis.call('SREM', KEYS[5], ARGV[7])
redis.call('HINCRBY', KEYS[3], 'receipts_closed', 1)
journal('receipt_close', ARGV[7], {state = r[1]},
    {state = state, short = #short, received_units = num(r[4]), units = num(r[5])})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', state, sj, tostring(num(r[4])), tostring(num(r[5]))}
