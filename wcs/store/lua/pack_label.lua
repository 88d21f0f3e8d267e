-- pack_label: a carton in tolerance gets its SSCC serial and shipment id, once. The station's
-- session moves to step label with them and the weights; a repeat while the session already
-- holds a label answers the same numbers without counting again.
-- KEYS[4] station hash, KEYS[5] SSCC serial counter, KEYS[6] shipment counter.
-- ARGV[7] station id, ARGV[8] order id, ARGV[9] weight mg, ARGV[10] expected mg.
-- Returns {'ok', sscc serial, shipment number}.
if #KEYS ~= 6 or #ARGV ~= 10 then
    return err('EARG', 'pack_label takes 6 keys and 10 arguments')
end
local w, e = int_arg(ARGV[9]), int_arg(ARGV[10])
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not w or w <= 0 or not e or e <= 0 then
    return err('EARG', 'bad station, order or weights')
end
local st = redis.call('HMGET', KEYS[4], 'order', 'step', 'sscc_serial', 'shipment')
if st[1] ~= ARGV[8] then
    return err('ESTATE', 'station ' .. ARGV[7] .. ' is not packing order ' .. ARGV[8])
end
if st[2] == 'label' and st[3] and st[4] then
    return {'ok', st[3], string.sub(st[4], 4)}
end
if st[2] ~= 'weigh' then
    return err('ESTATE', 'station ' .. ARGV[7] .. ' is not weighing (step ' .. tostring(st[2]) .. ')')
end
if seen() then
    return {'dup'}
end
local serial = redis.call('INCR', KEYS[5])
local n = redis.call('INCR', KEYS[6])
local shipment = 'SH-' .. n
redis.call('HSET', KEYS[4], 'step', 'label', 'sscc_serial', serial, 'shipment', shipment,
    'weight_mg', ARGV[9], 'expected_mg', ARGV[10], 'ts', ARGV[4])
journal('pack_label', ARGV[7], {step = st[2]},
    {step = 'label', order = ARGV[8], sscc_serial = serial, shipment = shipment,
     weight_mg = w, expected_mg = e})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(serial), tostring(n)}
