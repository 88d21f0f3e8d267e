-- return_receive: returned units of an authorised RMA arrive at a return station. They go into
-- the station's location on hold (not reservable) until inspected; more than the RMA authorises
-- for the product is refused. The RMA is 'receiving', then 'received' when all its units are in.
-- KEYS[4] RMA hash, KEYS[5] quant, KEYS[6] location index set, KEYS[7] sku index set.
-- ARGV[7] RMA id, ARGV[8] sku, ARGV[9] lot, ARGV[10] qty, ARGV[11] location, ARGV[12] station,
-- ARGV[13] today (YYYY-MM-DD).
-- Returns {'ok', state, received of the sku, authorised of the sku, received units, units}.
if #KEYS ~= 7 or #ARGV ~= 13 then
    return err('EARG', 'return_receive takes 7 keys and 13 arguments')
end
local q = int_arg(ARGV[10])
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not is_lot(ARGV[9]) or not q or q <= 0 or
    not is_path(ARGV[11]) then
    return err('EARG', 'bad RMA id, sku, lot, quantity or location')
end
if seen() then
    return {'dup'}
end
local r = redis.call('HMGET', KEYS[4], 'state', 'lines', 'units', 'received', 'location')
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
journal('return_receive', ARGV[7], {state = r[1], quant = KEYS[5], on_hand = on_hand},
    {state = state, quant = KEYS[5], on_hand = on_hand + q, sku = ARGV[8], lot = ARGV[9], qty = q,
     station = ARGV[12]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', state, tostring(had + q), tostring(auth), tostring(total), tostring(num(r[3]))}
