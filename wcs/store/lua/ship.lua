-- ship: a tote's contents leave the site under a shipment record.
-- KEYS[4] tote contents hash, KEYS[5] tote hash, KEYS[6] shipment hash.
-- ARGV[7] shipment id, ARGV[8] tote id, ARGV[9] order id, ARGV[10] carrier.
if #KEYS ~= 6 or #ARGV ~= 10 then
    return err('EARG', 'ship takes 6 keys and 10 arguments')
end
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not is_id(ARGV[9]) or not is_id(ARGV[10]) then
    return err('EARG', 'bad shipment, tote, order or carrier id')
end
if seen() then
    return {'dup'}
end
if redis.call('EXISTS', KEYS[6]) == 1 then
    return err('ESTATE', 'shipment ' .. ARGV[7] .. ' exists')
end
local flat = redis.call('HGETALL', KEYS[4])
if #flat == 0 then
    return err('ESTATE', 'tote ' .. ARGV[8] .. ' is empty')
end
local order = redis.call('HGET', KEYS[5], 'order')
if order and order ~= ARGV[9] then
    return err('ESTATE', 'tote ' .. ARGV[8] .. ' belongs to order ' .. order)
end
local contents, units = {}, 0
for i = 1, #flat, 2 do
    contents[flat[i]] = tonumber(flat[i + 1])
    units = units + tonumber(flat[i + 1])
end
local text = cjson.encode(contents)
redis.call('HSET', KEYS[6], 'tote', ARGV[8], 'order', ARGV[9], 'carrier', ARGV[10], 'ts', ARGV[4],
    'units', units, 'contents', text)
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[5], 'state', 'shipped', 'shipment', ARGV[7], 'ts', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'shipments', 1)
redis.call('HINCRBY', KEYS[3], 'shipped_units', units)
journal('ship', ARGV[7], {tote = ARGV[8], contents = contents},
    {shipment = ARGV[7], order = ARGV[9], carrier = ARGV[10], units = units})
return done()
