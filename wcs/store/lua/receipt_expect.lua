-- receipt_expect: the ERP announces a receipt (docs/mqtt.md, receipt.expect). Created in state
-- 'expected'; sent again unchanged it is left alone; changed it is replaced, but only while
-- nothing has been received under it.
-- KEYS[4] receipt hash, KEYS[5] open receipts set. ARGV[7] receipt id, ARGV[8] supplier ('' none),
-- ARGV[9] warehouse ('' none), ARGV[10] lines JSON [{sku, qty[, lot][, expiry]}] (canonical),
-- ARGV[11] units. Returns {'ok', 'created'|'updated'|'unchanged', state}.
if #KEYS ~= 5 or #ARGV ~= 11 then
    return err('EARG', 'receipt_expect takes 5 keys and 11 arguments')
end
local ok, lines = pcall(cjson.decode, ARGV[10])
local units = int_arg(ARGV[11])
if not is_id(ARGV[7]) or not ok or type(lines) ~= 'table' or #lines < 1 or not units or
    units < 1 then
    return err('EARG', 'bad receipt id, lines or units')
end
if seen() then
    return {'dup'}
end
local spec = cjson.encode({supplier = ARGV[8], warehouse = ARGV[9], lines = lines})
local cur = redis.call('HMGET', KEYS[4], 'state', 'spec', 'received_units')
local result = 'created'
if cur[1] then
    if cur[2] == spec then
        return {'ok', 'unchanged', cur[1]}
    end
    if cur[1] ~= 'expected' or num(cur[3]) > 0 then
        return err('ESTATE', 'receipt ' .. ARGV[7] .. ' is ' .. cur[1] ..
            ': it can no longer be changed once receiving started')
    end
    result = 'updated'
else
    redis.call('HSET', KEYS[4], 'created_ts', ARGV[4])
end
local received = {}
for i = 1, #lines do
    received[i] = 0
end
redis.call('HSET', KEYS[4], 'state', 'expected', 'supplier', ARGV[8], 'warehouse', ARGV[9],
    'lines', ARGV[10], 'spec', spec, 'units', units, 'n_lines', #lines, 'received',
    cjson.encode(received), 'received_units', 0, 'updated_ts', ARGV[4], 'by', ARGV[1])
redis.call('SADD', KEYS[5], ARGV[7])
redis.call('HINCRBY', KEYS[3], 'receipts_expected', result == 'created' and 1 or 0)
journal('receipt_expect', ARGV[7], {state = cur[1] or ''},
    {state = 'expected', result = result, units = units, lines = #lines})
return {'ok', result, 'expected'}
