-- rma_authorize: authorises a customer return against a shipped order: every line's product
-- must be on the order and its quantity at most what the order holds for it.
-- KEYS[4] RMA hash, KEYS[5] order hash, KEYS[6] order lines hash. ARGV[7] RMA id, ARGV[8] order
-- id, ARGV[9] lines JSON [{sku, qty}], ARGV[10] credit ('1' or '0'). Returns {'ok', units}.
if #KEYS ~= 6 or #ARGV ~= 10 then
    return err('EARG', 'rma_authorize takes 6 keys and 10 arguments')
end
local ok, lines = pcall(cjson.decode, ARGV[9])
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not ok or type(lines) ~= 'table' or #lines < 1 or
    (ARGV[10] ~= '0' and ARGV[10] ~= '1') then
    return err('EARG', 'bad RMA id, order id, lines or credit')
end
if seen() then
    return {'dup'}
end
if redis.call('EXISTS', KEYS[4]) == 1 then
    return err('ESTATE', 'RMA ' .. ARGV[7] .. ' exists')
end
local st = redis.call('HGET', KEYS[5], 'state')
if not st then
    return err('EUNKNOWN', 'unknown order "' .. ARGV[8] .. '"')
end
if st ~= 'shipped' then
    return err('ESTATE', 'order ' .. ARGV[8] .. ' is ' .. st .. ': only a shipped order can be returned')
end
local had = {}
for _, raw in ipairs(redis.call('HVALS', KEYS[6])) do
    local l = cjson.decode(raw)
    had[l.sku] = (had[l.sku] or 0) + l.qty
end
local want, units = {}, 0
for _, l in ipairs(lines) do
    want[l.sku] = (want[l.sku] or 0) + l.qty
    units = units + l.qty
end
for sku, q in pairs(want) do
    if not had[sku] then
        return err('ESTATE', 'order ' .. ARGV[8] .. ' has no line for ' .. sku)
    end
    if q > had[sku] then
        return err('ESTATE', 'order ' .. ARGV[8] .. ' shipped ' .. had[sku] .. ' of ' .. sku ..
            ', the RMA asks ' .. q)
    end
end
redis.call('HSET', KEYS[4], 'state', 'authorized', 'order', ARGV[8], 'lines', ARGV[9], 'credit',
    ARGV[10], 'units', units, 'by', ARGV[1], 'ts', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'rmas', 1)
journal('rma_authorize', ARGV[7], {}, {order = ARGV[8], units = units, credit = ARGV[10] == '1'})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(units)}
