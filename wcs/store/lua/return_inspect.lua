-- return_inspect: the decision on returned units: 'restock' lifts their hold and opens a putaway
-- task PUT-<n> to the planner's suggestion; 'scrap' moves them to the scrap location (a loss).
-- When every authorised unit was received and inspected the RMA becomes 'inspected' (the
-- command layer then emits the credit event when the RMA has credit).
-- KEYS[4] RMA hash, KEYS[5] held quant at the return location, KEYS[6] scrap quant, KEYS[7]
-- scrap location index set, KEYS[8] sku index set, KEYS[9] task counter, KEYS[10] the new task
-- hash, KEYS[11] open putaway tasks set, KEYS[12] the site's serials hash, KEYS[13] the serial's
-- record (a stand-in, the RMA hash, unless ARGV[19] is 'serial').
-- ARGV[7] RMA id, ARGV[8] sku, ARGV[9] lot, ARGV[10] qty, ARGV[11] decision
-- ('restock'|'scrap'), ARGV[12] note, ARGV[13] return location (as read), ARGV[14] scrap
-- location, ARGV[15] task id ('' for scrap), ARGV[16] suggested location, ARGV[17] reason code,
-- ARGV[18] reason text, ARGV[19] 'serial' for a serial-tracked product (the lot is the serial),
-- else ''. A restocked serial leaves the site's serials hash (pickable again; record 'stock',
-- journal op serial_restock); a scrapped one stays there as 'scrapped, RMA <id>' (record
-- 'scrapped', journal op serial_scrap): a later pick or return of it is refused.
-- Returns {'ok', state, inspected units, units, credit '0'|'1', order, outcome JSON, task}.
if #KEYS ~= 13 or #ARGV ~= 19 then
    return err('EARG', 'return_inspect takes 13 keys and 19 arguments')
end
local q, restock, serial = int_arg(ARGV[10]), ARGV[11] == 'restock', ARGV[19] == 'serial'
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not is_lot(ARGV[9]) or not q or q <= 0 or
    (not restock and ARGV[11] ~= 'scrap') or not is_path(ARGV[13]) or not is_path(ARGV[14]) or
    (restock and not is_id(ARGV[15])) or #ARGV[12] > 256 or (ARGV[19] ~= '' and not serial) or
    (serial and ARGV[9] == '') then
    return err('EARG', 'bad RMA id, sku, lot, quantity, decision, note, location, task or serial')
end
if KEYS[12] ~= site_key('serials') or (serial and KEYS[13] ~= serial_key(ARGV[8], ARGV[9])) then
    return err('EARG', 'KEYS[12], KEYS[13] are not the site\'s serials and the serial\'s record')
end
if seen() then
    return {'dup'}
end
local r = redis.call('HMGET', KEYS[4], 'state', 'units', 'received', 'inspected', 'location',
    'credit', 'order', 'outcome')
if not r[1] then
    return err('EUNKNOWN', 'unknown RMA "' .. ARGV[7] .. '"')
end
if r[1] ~= 'receiving' and r[1] ~= 'received' then
    return err('ESTATE', 'RMA ' .. ARGV[7] .. ' is ' .. r[1] ..
        (r[1] == 'authorized' and ': nothing received yet' or ''))
end
if (r[5] or '') ~= ARGV[13] then
    return err('ESTATE', 'RMA ' .. ARGV[7] .. ' changed meanwhile, retry')
end
local tag = ARGV[8] .. (ARGV[9] ~= '' and (' lot ' .. ARGV[9]) or '')
local got = num(redis.call('HGET', KEYS[4], 'lot:' .. ARGV[8] .. ':' .. ARGV[9]))
local done = num(redis.call('HGET', KEYS[4], 'insp:' .. ARGV[8] .. ':' .. ARGV[9]))
if done + q > got then
    return err('ESTATE', 'RMA ' .. ARGV[7] .. ' received ' .. got .. ' of ' .. tag .. ', ' .. done ..
        ' inspected, ' .. q .. ' more refused')
end
local v = redis.call('HMGET', KEYS[5], 'on_hand', 'hold', 'expiry')
if num(v[2]) < q or num(v[1]) < q then
    return err('ESTATE', ARGV[13] .. ' holds ' .. num(v[2]) .. ' units of ' .. tag ..
        ' awaiting inspection, asked ' .. q)
end
if restock and 'PUT-' .. (num(redis.call('GET', KEYS[9])) + 1) ~= ARGV[15] then
    return err('ESTATE', 'task ids changed meanwhile, retry')
end
redis.call('HINCRBY', KEYS[5], 'hold', -q)
redis.call('HINCRBY', KEYS[3], 'held_units', -q)
local task = ''
if restock then
    task = 'PUT-' .. redis.call('INCR', KEYS[9])
    redis.call('HSET', KEYS[10], 'kind', 'putaway', 'state', 'open', 'sku', ARGV[8], 'lot',
        ARGV[9], 'qty', q, 'moved', 0, 'source', ARGV[13], 'target', ARGV[16], 'reason_code',
        ARGV[17], 'reason', ARGV[18], 'rma', ARGV[7], 'by', ARGV[1], 'ts', ARGV[4])
    redis.call('SADD', KEYS[11], task)
    redis.call('HINCRBY', KEYS[3], 'returns_restocked', q)
else
    local to_before = num(redis.call('HGET', KEYS[6], 'on_hand'))
    redis.call('HINCRBY', KEYS[5], 'on_hand', -q)
    redis.call('HSETNX', KEYS[6], 'reserved', 0)
    redis.call('HSET', KEYS[6], 'sku', ARGV[8], 'loc', ARGV[14], 'lot', ARGV[9])
    redis.call('HINCRBY', KEYS[6], 'on_hand', q)
    redis.call('SADD', KEYS[7], KEYS[6])
    redis.call('SADD', KEYS[8], KEYS[6])
    redis.call('HINCRBY', KEYS[3], 'returns_scrapped', q)
    redis.call('HINCRBY', KEYS[3], 'scrapped_units', q)
    -- from_on_hand: the return_inspect entry below names no quant, so this one carries both
    -- sides of the move (wcs audit).
    journal('scrap', ARGV[8], {from = KEYS[5], from_on_hand = num(v[1]), to = KEYS[6],
        to_on_hand = to_before}, {from = KEYS[5], from_on_hand = num(v[1]) - q, to = KEYS[6],
        to_on_hand = to_before + q, qty = q, why = 'return'})
end
if serial then
    -- A serial received before serial records were kept has none: its inspection still
    -- releases or marks it.
    local item, was = ARGV[8] .. ':' .. ARGV[9], redis.call('HGET', KEYS[13], 'state')
    local st = restock and 'stock' or 'scrapped'
    if restock then
        redis.call('HDEL', KEYS[12], item)
    else
        redis.call('HSET', KEYS[12], item, 'scrapped, RMA ' .. ARGV[7])
    end
    serial_note(KEYS[13], ARGV[8], ARGV[9], st, {ev = ARGV[11], rma = ARGV[7], task = task,
        note = ARGV[12]}, {'rma', ARGV[7], 'inspected_ts', ARGV[4]})
    journal(restock and 'serial_restock' or 'serial_scrap', item, {state = was or cjson.null},
        {state = st, rma = ARGV[7], task = task})
end
local outcome = cjson.decode(r[8] or '[]')
if type(outcome) ~= 'table' or next(outcome) == nil then
    outcome = {}
end
outcome[#outcome + 1] = {sku = ARGV[8], lot = ARGV[9], qty = q, decision = ARGV[11],
                         note = ARGV[12]}
local oj = cjson.encode(outcome)
local inspected = num(r[4]) + q
local state = r[1]
if inspected >= num(r[2]) then
    state = 'inspected'
end
redis.call('HINCRBY', KEYS[4], 'insp:' .. ARGV[8] .. ':' .. ARGV[9], q)
redis.call('HSET', KEYS[4], 'inspected', inspected, 'outcome', oj, 'state', state, 'updated_ts',
    ARGV[4])
journal('return_inspect', ARGV[7], {state = r[1], inspected = num(r[4])},
    {state = state, inspected = inspected, sku = ARGV[8], lot = ARGV[9], qty = q,
     decision = ARGV[11], task = task})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', state, tostring(inspected), tostring(num(r[2])), r[6] or '0', r[7] or '', oj, task}
