-- pack_commit: the printer confirmed the label. The shipment record is written, the carton gets
-- a tote record under its SSCC (routed to its carrier), the session's totes are emptied and
-- released (no order), the order is packed, the station back to idle: one step, all or nothing.
-- KEYS[4] station, KEYS[5] shipment, KEYS[6] carton tote hash, KEYS[7] order,
-- KEYS[8..] per session tote: tote hash, tote contents hash, tote serials set (emptied with the
-- contents; the serials travel in the items JSON).
-- ARGV[7] station, ARGV[8] shipment id, ARGV[9] order, ARGV[10] sscc, ARGV[11] carrier ('' none),
-- ARGV[12] weight mg, ARGV[13] expected mg, ARGV[14] items JSON, ARGV[15] units,
-- ARGV[16] station reset field/value pairs as a JSON object.
if #KEYS < 10 or (#KEYS - 7) % 3 ~= 0 or #ARGV ~= 16 then
    return err('EARG', 'pack_commit takes 7 + 3n keys and 16 arguments')
end
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not is_id(ARGV[9]) or
    not string.match(ARGV[10], '^%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d$') or
    (ARGV[11] ~= '' and not is_id(ARGV[11])) then
    return err('EARG', 'bad station, shipment, order, sscc or carrier')
end
local w, e, units = int_arg(ARGV[12]), int_arg(ARGV[13]), int_arg(ARGV[15])
if not w or not e or not units or units <= 0 then
    return err('EARG', 'bad weights or units')
end
local ok, reset = pcall(cjson.decode, ARGV[16])
if not ok or type(reset) ~= 'table' then
    return err('EARG', 'bad station reset fields')
end
if seen() then
    return {'dup'}
end
if redis.call('EXISTS', KEYS[5]) == 1 then
    return err('ESTATE', 'shipment ' .. ARGV[8] .. ' exists')
end
local st = redis.call('HMGET', KEYS[4], 'shipment', 'order')
if st[1] ~= ARGV[8] or st[2] ~= ARGV[9] then
    return err('ESTATE', 'station ' .. ARGV[7] .. ' holds no label for shipment ' .. ARGV[8])
end
local ostate = redis.call('HGET', KEYS[7], 'state')
local totes, emptied = {}, {}
for k = 8, #KEYS, 3 do
    if KEYS[k + 2] ~= KEYS[k] .. ':serials' then
        return err('EARG', 'KEYS[' .. (k + 2) .. '] is not the serials of ' .. KEYS[k])
    end
end
for k = 8, #KEYS, 3 do
    local id = string.match(KEYS[k], ':tote:(.*)$')
    totes[#totes + 1] = id
    local flat = redis.call('HGETALL', KEYS[k + 1])
    local c = {}
    for i = 1, #flat, 2 do
        c[flat[i]] = tonumber(flat[i + 1])
    end
    emptied[id] = c
end
redis.call('HSET', KEYS[5], 'order', ARGV[9], 'sscc', ARGV[10], 'carrier', ARGV[11],
    'weight_mg', ARGV[12], 'expected_mg', ARGV[13], 'station', ARGV[7], 'items', ARGV[14],
    'units', ARGV[15], 'totes', cjson.encode(totes), 'tote', ARGV[10], 'state', 'packed',
    'packed_ts', ARGV[4], 'ts', ARGV[4])
redis.call('HSET', KEYS[6], 'order', ARGV[9], 'state', 'packed', 'shipment', ARGV[8],
    'dest', ARGV[11] ~= '' and ('carrier:' .. ARGV[11]) or '', 'sort_state', 'open', 'ts', ARGV[4])
for k = 8, #KEYS, 3 do
    redis.call('DEL', KEYS[k + 1], KEYS[k + 2])
    -- Released: the next pick may use the tote for any order (pick_confirm checks 'order').
    redis.call('HDEL', KEYS[k], 'order')
    redis.call('HSET', KEYS[k], 'state', 'released', 'shipment', ARGV[8], 'dest', '', 'ts', ARGV[4])
end
redis.call('HSET', KEYS[7], 'state', 'packed', 'updated_ts', ARGV[4])
redis.call('HINCRBY', KEYS[7], 'shipments_open', 1)
local kv = {}
for f, v in pairs(reset) do
    kv[#kv + 1] = f
    kv[#kv + 1] = tostring(v)
end
if #kv > 0 then
    redis.call('HSET', KEYS[4], unpack(kv))
end
redis.call('HINCRBY', KEYS[3], 'cartons_packed', 1)
redis.call('HINCRBY', KEYS[3], 'packed_units', units)
journal('pack', ARGV[8], {order_state = ostate or cjson.null, totes = emptied},
    {shipment = ARGV[8], order = ARGV[9], sscc = ARGV[10], carrier = ARGV[11], station = ARGV[7],
     weight_mg = w, expected_mg = e, units = units, items = cjson.decode(ARGV[14])})
return done()
