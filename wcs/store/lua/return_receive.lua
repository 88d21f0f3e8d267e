-- return_receive: returned units of an authorised RMA arrive at a return station. They go into
-- the station's location on hold (not reservable) until inspected; more than the RMA authorises
-- for the product is refused. The RMA is 'receiving', then 'received' when all its units are in.
-- A serial-tracked unit (ARGV[14] 'serial'; its lot is its serial) must be one this site shipped
-- with the RMA's order: its record (docs/redis.md, "Serials") says 'picked' for that order and
-- the site's serials hash holds it; else refused with the reason (never shipped, shipped with
-- another order, already returned, restocked since, scrapped). Received, it becomes 'returned'
-- in both (journal op serial_return): not pickable until inspected.
-- KEYS[4] RMA hash, KEYS[5] quant, KEYS[6] location index set, KEYS[7] sku index set, KEYS[8]
-- the site's serials hash, KEYS[9] the serial's record (a stand-in, the RMA hash, for a product
-- that is not serial-tracked).
-- ARGV[7] RMA id, ARGV[8] sku, ARGV[9] lot, ARGV[10] qty, ARGV[11] location, ARGV[12] station,
-- ARGV[13] today (YYYY-MM-DD), ARGV[14] 'serial' for a serial-tracked product, else ''.
-- Returns {'ok', state, received of the sku, authorised of the sku, received units, units}.
if #KEYS ~= 9 or #ARGV ~= 14 then
    return err('EARG', 'return_receive takes 9 keys and 14 arguments')
end
local q, serial = int_arg(ARGV[10]), ARGV[14] == 'serial'
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not is_lot(ARGV[9]) or not q or q <= 0 or
    not is_path(ARGV[11]) or (ARGV[14] ~= '' and not serial) or
    (serial and (ARGV[9] == '' or q ~= 1)) then
    return err('EARG', 'bad RMA id, sku, lot, quantity, location or serial')
end
if KEYS[8] ~= site_key('serials') or
    (serial and KEYS[9] ~= serial_key(ARGV[8], ARGV[9])) then
    return err('EARG', 'KEYS[8], KEYS[9] are not the site\'s serials and the serial\'s record')
end
if seen() then
    return {'dup'}
end
local r = redis.call('HMGET', KEYS[4], 'state', 'lines', 'units', 'received', 'location', 'order')
if not r[1] then
    return err('EUNKNOWN', 'unknown RMA "' .. ARGV[7] .. '"')
end
if r[1] ~= 'authorized' and r[1] ~= 'receiving' then
    return err('ESTATE', 'RMA ' .. ARGV[7] .. ' is ' .. r[1] .. ': nothing more can be received')
end
if r[5] and r[5] ~= '' and r[5] ~= ARGV[11] then
    return err('ESTATE', 'RMA ' .. ARGV[7] .. ' is being received at ' .. r[5])
end
local auth = 0
for _, l in ipairs(cjson.decode(r[2])) do
    if l.sku == ARGV[8] then
        auth = auth + l.qty
    end
end
if auth == 0 then
    return err('ESTATE', 'RMA ' .. ARGV[7] .. ' authorises no ' .. ARGV[8])
end
local had = num(redis.call('HGET', KEYS[4], 'rcv:' .. ARGV[8]))
if had + q > auth then
    return err('ESTATE', 'RMA ' .. ARGV[7] .. ' authorises ' .. auth .. ' of ' .. ARGV[8] .. ', ' ..
        had .. ' received, ' .. q .. ' more refused')
end
local item, rec = ARGV[8] .. ':' .. ARGV[9], nil
if serial then
    local tag = 'serial ' .. ARGV[9] .. ' of ' .. ARGV[8]
    local out = redis.call('HGET', KEYS[8], item)
    rec = redis.call('HMGET', KEYS[9], 'state', 'order', 'rma')
    if rec[1] == 'returned' then
        return err('ESTATE', tag .. ' is already returned (RMA ' .. tostring(rec[3]) ..
            '), not yet inspected')
    end
    if rec[1] == 'scrapped' then
        return err('ESTATE', tag .. ' was scrapped (RMA ' .. tostring(rec[3]) ..
            '): it cannot be returned again')
    end
    if rec[1] == 'stock' then
        return err('ESTATE', tag .. ' is in stock here (restocked from RMA ' ..
            tostring(rec[3]) .. '): it was not shipped since')
    end
    if not out or rec[1] ~= 'picked' then
        return err('ESTATE', tag .. ' was never shipped from this site: RMA ' .. ARGV[7] ..
            ' cannot take it' .. (out and (' (picked before serial records: ' .. out .. ')') or ''))
    end
    if rec[2] ~= r[6] then
        return err('ESTATE', tag .. ' was shipped with order ' .. tostring(rec[2]) .. ', RMA ' ..
            ARGV[7] .. ' is for order ' .. tostring(r[6]))
    end
end
local on_hand = num(redis.call('HGET', KEYS[5], 'on_hand'))
redis.call('HSETNX', KEYS[5], 'reserved', 0)
redis.call('HSETNX', KEYS[5], 'in_date', ARGV[13])
redis.call('HSET', KEYS[5], 'sku', ARGV[8], 'loc', ARGV[11], 'lot', ARGV[9])
redis.call('HINCRBY', KEYS[5], 'on_hand', q)
redis.call('HINCRBY', KEYS[5], 'hold', q)
redis.call('SADD', KEYS[6], KEYS[5])
redis.call('SADD', KEYS[7], KEYS[5])
local total = num(r[4]) + q
local state = total >= num(r[3]) and 'received' or 'receiving'
redis.call('HINCRBY', KEYS[4], 'rcv:' .. ARGV[8], q)
redis.call('HINCRBY', KEYS[4], 'lot:' .. ARGV[8] .. ':' .. ARGV[9], q)
redis.call('HSET', KEYS[4], 'state', state, 'received', total, 'location', ARGV[11], 'station',
    ARGV[12], 'updated_ts', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'returns_received', q)
redis.call('HINCRBY', KEYS[3], 'held_units', q)
if serial then
    redis.call('HSET', KEYS[8], item, 'returned, RMA ' .. ARGV[7])
    redis.call('HINCRBY', KEYS[9], 'returns', 1)
    serial_note(KEYS[9], ARGV[8], ARGV[9], 'returned', {ev = 'return', rma = ARGV[7],
        order = r[6], station = ARGV[12], location = ARGV[11]},
        {'rma', ARGV[7], 'returned_ts', ARGV[4], 'location', ARGV[11]})
    journal('serial_return', item, {state = rec[1]}, {state = 'returned', rma = ARGV[7],
        order = r[6]})
end
journal('return_receive', ARGV[7], {state = r[1], quant = KEYS[5], on_hand = on_hand},
    {state = state, quant = KEYS[5], on_hand = on_hand + q, sku = ARGV[8], lot = ARGV[9], qty = q,
     station = ARGV[12]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', state, tostring(had + q), tostring(auth), tostring(total), tostring(num(r[3]))}
