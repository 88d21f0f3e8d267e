-- order_upsert: creates an order or replaces a draft/confirmed order's header and lines (the
-- MQTT command layer and `wcs import`). Same content again changes nothing ('unchanged').
-- KEYS[4] order hash, KEYS[5] order lines hash, KEYS[6] open orders set.
-- ARGV[7] order id, ARGV[8] header JSON {carrier, priority, ship_date, zone[, ship_to]}, ARGV[9] lines JSON
-- [{sku, qty, lot}], ARGV[10] state for a new or changed order ('draft' or 'confirmed').
-- Returns {'ok', 'created'|'updated'|'unchanged', state}.
if #KEYS ~= 6 or #ARGV ~= 10 then
    return err('EARG', 'order_upsert takes 6 keys and 10 arguments')
end
local id, state = ARGV[7], ARGV[10]
if not is_id(id) or (state ~= 'draft' and state ~= 'confirmed') then
    return err('EARG', 'bad order id or state')
end
local okh, hdr = pcall(cjson.decode, ARGV[8])
local okl, lines = pcall(cjson.decode, ARGV[9])
if not okh or type(hdr) ~= 'table' or not okl or type(lines) ~= 'table' or #lines < 1 then
    return err('EARG', 'header and lines must be JSON')
end
local units = 0
for _, l in ipairs(lines) do
    local q = tonumber(l.qty)
    if not is_id(l.sku) or not q or q < 1 or (l.lot ~= nil and not is_id(l.lot)) then
        return err('EARG', 'bad order line')
    end
    units = units + q
end
if seen() then
    return {'dup'}
end
local spec = ARGV[8] .. '\n' .. ARGV[9] .. '\n' .. state
local cur = redis.call('HMGET', KEYS[4], 'state', 'spec')
if cur[1] == 'cancelled' or cur[1] == 'shipped' then
    return err('ESTATE', 'order ' .. id .. ' is ' .. cur[1] .. ': no further changes')
end
if cur[1] and cur[1] ~= 'draft' and cur[1] ~= 'confirmed' then
    return err('ESTATE', 'order ' .. id .. ' is ' .. cur[1] ..
        ': only a draft or confirmed order can be changed')
end
if cur[2] == spec then
    return {'ok', 'unchanged', cur[1]}
end
-- Each line as JSON with sorted keys (cjson's key order is not defined).
local function line_json(l)
    local lot = l.lot and ('"lot":' .. cjson.encode(l.lot) .. ',') or ''
    return '{' .. lot .. '"qty":' .. string.format('%d', l.qty) .. ',"sku":' ..
        cjson.encode(l.sku) .. '}'
end
local how = cur[1] and 'updated' or 'created'
redis.call('DEL', KEYS[5])
for i, l in ipairs(lines) do
    redis.call('HSET', KEYS[5], tostring(i - 1), line_json(l))
end
-- ship_to (optional): the label's address, kept as the JSON object it came in.
local ship_to = ''
if type(hdr.ship_to) == 'table' then
    ship_to = cjson.encode(hdr.ship_to)
end
redis.call('HSET', KEYS[4], 'ship_to', ship_to)
redis.call('HSET', KEYS[4], 'state', state, 'spec', spec, 'carrier', hdr.carrier or '',
    'priority', hdr.priority or '', 'ship_date', hdr.ship_date or '', 'zone', hdr.zone or '',
    'lines', #lines, 'units', units, 'updated_ts', ARGV[4], 'by', ARGV[1])
if how == 'created' then
    redis.call('HSET', KEYS[4], 'hold', 0, 'created_ts', ARGV[4])
end
redis.call('SADD', KEYS[6], id)
redis.call('HINCRBY', KEYS[3], 'orders_' .. how, 1)
journal('order_' .. (how == 'created' and 'create' or 'update'), id,
    {state = cur[1] or 'none'}, {state = state, lines = #lines, units = units})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', how, state}
