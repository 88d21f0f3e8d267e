-- receipt_scan: units scanned against an expected receipt. The command layer has read the
-- receipt, chosen the line (wcs/command/scan.c), checked the over-receipt rule and asked the
-- planner where the goods go; this script re-checks what it read ('changed meanwhile, retry'
-- when another scan came in between) and applies: stock into the receiving location (with
-- 'hold' units for quality-controlled goods), the line's count, and a putaway task PUT-<n>.
-- KEYS[4] receipt, KEYS[5] quant, KEYS[6] location index set, KEYS[7] sku index set,
-- KEYS[8] task counter, KEYS[9] the new task hash, KEYS[10] open putaway tasks set.
-- ARGV[7] receipt id, ARGV[8] line index (from 0), ARGV[9] the line's received count as read,
-- ARGV[10] sku, ARGV[11] lot, ARGV[12] expiry ('' none), ARGV[13] qty, ARGV[14] location,
-- ARGV[15] hold ('1' quality hold), ARGV[16] task id ('' none), ARGV[17] suggested location,
-- ARGV[18] reason code, ARGV[19] reason text, ARGV[20] today (YYYY-MM-DD), ARGV[21] station.
-- Returns {'ok', line received, receipt received units, receipt units, task id or ''}.
if #KEYS ~= 10 or #ARGV ~= 21 then
    return err('EARG', 'receipt_scan takes 10 keys and 21 arguments')
end
local idx, before, q = int_arg(ARGV[8]), int_arg(ARGV[9]), int_arg(ARGV[13])
if not is_id(ARGV[7]) or not idx or idx < 0 or not before or not q or q <= 0 or
    not is_id(ARGV[10]) or not is_lot(ARGV[11]) or not is_path(ARGV[14]) or
    (ARGV[16] ~= '' and not is_id(ARGV[16])) then
    return err('EARG', 'bad receipt id, line, quantity, sku, lot, location or task')
end
if seen() then
    return {'dup'}
end
local r = redis.call('HMGET', KEYS[4], 'state', 'lines', 'received', 'received_units', 'units')
if not r[1] then
    return err('EUNKNOWN', 'unknown receipt "' .. ARGV[7] .. '"')
end
if r[1] ~= 'expected' and r[1] ~= 'receiving' then
    return err('ESTATE', 'receipt ' .. ARGV[7] .. ' is ' .. r[1] .. ': nothing more can be received')
end
local lines, received = cjson.decode(r[2]), cjson.decode(r[3])
local line = lines[idx + 1]
if not line or line.sku ~= ARGV[10] or num(received[idx + 1]) ~= before then
    return err('ESTATE', 'receipt ' .. ARGV[7] .. ' changed meanwhile, retry')
end
if ARGV[16] ~= '' and 'PUT-' .. (num(redis.call('GET', KEYS[8])) + 1) ~= ARGV[16] then
    return err('ESTATE', 'task ids changed meanwhile, retry')
end
local qv = redis.call('HMGET', KEYS[5], 'on_hand', 'expiry', 'hold')
if ARGV[12] ~= '' and qv[2] and qv[2] ~= '' and qv[2] ~= ARGV[12] then
    return err('ESTATE', 'lot ' .. ARGV[11] .. ' of ' .. ARGV[10] .. ' at ' .. ARGV[14] ..
        ' has expiry ' .. qv[2] .. ', the scan says ' .. ARGV[12])
end
local on_hand = num(qv[1])
redis.call('HSETNX', KEYS[5], 'reserved', 0)
redis.call('HSETNX', KEYS[5], 'in_date', ARGV[20])
redis.call('HSET', KEYS[5], 'sku', ARGV[10], 'loc', ARGV[14], 'lot', ARGV[11])
if ARGV[12] ~= '' then
    redis.call('HSET', KEYS[5], 'expiry', ARGV[12])
end
redis.call('HINCRBY', KEYS[5], 'on_hand', q)
if ARGV[15] == '1' then
    redis.call('HINCRBY', KEYS[5], 'hold', q)
    redis.call('HINCRBY', KEYS[3], 'held_units', q)
end
redis.call('SADD', KEYS[6], KEYS[5])
redis.call('SADD', KEYS[7], KEYS[5])
received[idx + 1] = before + q
local total = num(r[4]) + q
redis.call('HSET', KEYS[4], 'state', 'receiving', 'received', cjson.encode(received),
    'received_units', total, 'updated_ts', ARGV[4])
redis.call('HINCRBY', KEYS[4], ARGV[10] .. ':' .. ARGV[11], q)
local task = ''
if ARGV[16] ~= '' then
    task = 'PUT-' .. redis.call('INCR', KEYS[8])
    redis.call('HSET', KEYS[9], 'kind', 'putaway', 'state', 'open', 'sku', ARGV[10], 'lot',
        ARGV[11], 'qty', q, 'moved', 0, 'source', ARGV[14], 'target', ARGV[17], 'reason_code',
        ARGV[18], 'reason', ARGV[19], 'receipt', ARGV[7], 'station', ARGV[21], 'by', ARGV[1],
        'ts', ARGV[4])
    redis.call('SADD', KEYS[10], task)
end
redis.call('HINCRBY', KEYS[3], 'receipt_scans', 1)
redis.call('HINCRBY', KEYS[3], 'received_units', q)
journal('receipt_scan', ARGV[7], {quant = KEYS[5], on_hand = on_hand, line_received = before},
    {quant = KEYS[5], on_hand = on_hand + q, line = idx, line_received = before + q, qty = q,
     sku = ARGV[10], lot = ARGV[11], hold = ARGV[15] == '1', task = task, station = ARGV[21]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(before + q), tostring(total), tostring(num(r[5])), task}
