-- task_short: pick.short of a pick task. The units found (qty, may be 0) are picked as
-- task_pick picks them (same checks, counted as pick errors), the missing units' reservation
-- is released from the quant, the location gets a count task CNT-<n> unless one is open, the
-- replacement reservations the planner chose (C side, over a fresh read of the SKU's quants)
-- are re-checked and made, each with a pick task appended to the same batch, and what no stock
-- covers becomes a backorder BO-<m> with a follow-up order (state confirmed, the site's top
-- priority) that the next wave.plan reserves before any other order. The task becomes short;
-- the order is picked when it has no open task left; the batch is done when it has none.
-- KEYS[4..10] as task_pick (with no units found the tote keys are stand-ins: the task key),
-- KEYS[11] task counter, KEYS[12] open counts, KEYS[13] count task CNT-<ctr+1>, KEYS[14]
-- backorder counter, KEYS[15] backorders zset, KEYS[16] backorder BO-<bctr+1>, KEYS[17] the
-- follow-up order, KEYS[18] its lines, KEYS[19] open orders set, KEYS[20] the order's lines,
-- KEYS[21] the order's own backorder hash (stand-in: the task key), KEYS[22] the tote's serials
-- set, KEYS[23] the site's serials hash, KEYS[24] the scanned serial's record (KEYS[22] and
-- KEYS[24] are stand-ins, the task key, unless units are found and the product is
-- serial-tracked: then the found unit's serial is recorded as task_pick records it),
-- KEYS[25..24+k] replacement quants, KEYS[25+k..24+2k] their new tasks (PCK-<n> after the count
-- task's number). ARGV[7..17] as task_pick (ARGV[8] 'short', ARGV[14] qty found
-- 0..remaining-1, ARGV[15] tote or '', ARGV[16] serial, ARGV[17] 'serial' for a serial-tracked
-- product: the found part takes the serial rule of pick.confirm, not the lot rule), ARGV[18]
-- the task counter as read, ARGV[19] the backorder counter as read, ARGV[20] the follow-up order
-- id, ARGV[21] its priority ('' none), ARGV[22] k, ARGV[22+i] the qty of replacement i. A
-- counter, count or quant that moved since the read: 'changed meanwhile, retry' (the C side
-- reads and plans again). A replacement takes only free units (on_hand - reserved - hold).
-- Returns {'ok', picked, short, replacements JSON [{task, location, lot, qty}], backorder id
-- ('' none), order, order state, batch, batch state, count task ('' none), follow-up order ('' none),
-- next open task ('' none), tote ('' none)}.
if #KEYS < 24 or #ARGV < 22 then
    return err('EARG', 'task_short takes 24 or more keys and 22 or more arguments')
end
local KR, AR = 24, 22 -- replacements: KEYS[KR + i], KEYS[KR + k + i], ARGV[AR + i]
local tid, q, k = ARGV[7], int_arg(ARGV[14]), int_arg(ARGV[22])
if not is_id(tid) or not q or q < 0 or not k or k < 0 or #KEYS ~= KR + 2 * k or
    #ARGV ~= AR + k or (q > 0 and not is_id(ARGV[15])) or not is_id(ARGV[20]) or
    (ARGV[21] ~= '' and not is_id(ARGV[21])) or not int_arg(ARGV[18]) or
    not int_arg(ARGV[19]) or (ARGV[16] ~= '' and not is_id(ARGV[16])) or
    (ARGV[17] ~= '' and ARGV[17] ~= 'serial') then
    return err('EARG', 'bad task id, quantity, tote, serial, counters, follow-up order or ' ..
        'replacements')
end
local ser_found = q > 0 and ARGV[17] == 'serial' and ARGV[16] ~= '' and ARGV[11] ~= ''
if KEYS[23] ~= site_key('serials') or
    (ser_found and (KEYS[22] ~= KEYS[10] .. ':serials' or
                    KEYS[24] ~= serial_key(ARGV[11], ARGV[16]))) then
    return err('EARG', 'KEYS[22..24] are not the tote\'s and the site\'s serials and the record')
end
local rq = {}
for i = 1, k do
    rq[i] = int_arg(ARGV[AR + i])
    if not rq[i] or rq[i] < 1 then
        return err('EARG', 'replacement quantity must be a positive integer')
    end
end
if seen() then
    return {'dup'}
end
local t = pick_task()
if t[1] ~= 'pick' then
    return err('EUNKNOWN', 'unknown task "' .. tid .. '"')
end
if t[2] ~= 'open' then
    return err('ESTATE', 'task ' .. tid .. ' is ' .. tostring(t[2]))
end
local order, sku, loc = t[3], t[4], t[7]
local remaining = num(t[8]) - num(t[9])
local ser = nil
if q > 0 then
    ser = serial_read(ser_found and ARGV[11] == sku, sku, ARGV[16], KEYS[23], KEYS[24])
    ser.tracked = ARGV[17] == 'serial'
end
local bad = q > 0 and pick_check(t, q, ser) or nil
if bad then
    return bad
end
if q >= remaining then
    redis.call('HINCRBY', KEYS[3], 'pick_errors', 1)
    redis.call('HINCRBY', KEYS[3], 'pick_errors_qty', 1)
    return err('ESTATE', 'qty ' .. q .. ' is not less than the ' .. remaining ..
        ' remaining on task ' .. tid .. ': a short pick leaves units missing')
end
bad = pick_held(t, remaining)
if bad then
    return bad
end
local missing = remaining - q
local function changed()
    return err('ESTATE', 'task ' .. tid .. ' changed meanwhile, retry')
end
local ctr, bctr = num(redis.call('GET', KEYS[11])), num(redis.call('GET', KEYS[14]))
if tostring(ctr) ~= ARGV[18] or tostring(bctr) ~= ARGV[19] then
    return changed()
end
local open_cnt = redis.call('HGET', KEYS[12], loc)
local n, cnt_id = ctr, nil
if not open_cnt then
    n = n + 1
    cnt_id = 'CNT-' .. n
    if KEYS[13] ~= site_key('task:' .. cnt_id) then
        return changed()
    end
end
local o = redis.call('HMGET', KEYS[6], 'state', 'tasks_open', 'backorder', 'carrier', 'zone',
    'ship_to')
local own_bo = o[3] or ''
if own_bo ~= '' and KEYS[21] ~= site_key('backorder:' .. own_bo) then
    return changed()
end
local b = redis.call('HMGET', KEYS[5], 'state', 'open', 'tasks', 'assignee')
local reps, sum = {}, 0
for i = 1, k do
    local qk, tk = KEYS[KR + i], KEYS[KR + k + i]
    local v = redis.call('HMGET', qk, 'sku', 'loc', 'lot', 'on_hand', 'reserved', 'expiry', 'hold')
    if qk == KEYS[8] or v[1] ~= sku then
        return err('EARG', 'replacement ' .. qk .. ' is not another quant of ' .. sku)
    end
    if num(v[4]) - num(v[5]) - num(v[7]) < rq[i] then
        return changed()
    end
    n = n + 1
    local id = 'PCK-' .. n
    if tk ~= site_key('task:' .. id) or redis.call('EXISTS', tk) == 1 then
        return changed()
    end
    reps[i] = {id = id, quant = qk, loc = v[2], lot = v[3] or '', exp = v[6] or '', qty = rq[i],
        reserved = num(v[5])}
    sum = sum + rq[i]
end
if sum > missing then
    return err('EARG', 'replacements of ' .. sum .. ' units exceed the ' .. missing .. ' missing')
end
local short_bo = missing - sum
local okl, line = pcall(cjson.decode, redis.call('HGET', KEYS[20], t[11] or '') or '{}')
if not okl or type(line) ~= 'table' then
    line = {}
end
local bo_id, fo = nil, ARGV[20]
if short_bo > 0 then
    bo_id = 'BO-' .. (bctr + 1)
    if KEYS[16] ~= site_key('backorder:' .. bo_id) or KEYS[17] ~= site_key('order:' .. fo) or
        KEYS[18] ~= site_key('order:' .. fo .. ':lines') then
        return changed()
    end
    if redis.call('EXISTS', KEYS[17]) == 1 then
        return err('ESTATE', 'order ' .. fo .. ' exists: the follow-up order of backorder ' ..
            bo_id .. ' cannot be made')
    end
end
-- Apply. The found units, then the missing units' reservation.
if q > 0 then
    pick_apply(t, q)
    if ser.tracked then
        serial_picked(t, ser.serial, ARGV[15], KEYS[22], KEYS[23], KEYS[24])
    end
end
local held = num(redis.call('HGET', KEYS[7], KEYS[8]))
local r0 = num(redis.call('HGET', KEYS[8], 'reserved'))
redis.call('HINCRBY', KEYS[8], 'reserved', -missing)
-- Not found: no source for any plan until the location is counted (the count clears it).
redis.call('HINCRBY', KEYS[8], 'missing', missing)
if redis.call('HINCRBY', KEYS[7], KEYS[8], -missing) <= 0 then
    redis.call('HDEL', KEYS[7], KEYS[8])
end
journal('pick_short', tid, {quant = KEYS[8], reserved = r0, order_held = held},
    {quant = KEYS[8], reserved = r0 - missing, order_held = held - missing, found = q,
     missing = missing, order = order, count = cnt_id or open_cnt or ''})
if cnt_id then
    redis.call('HSET', KEYS[13], 'kind', 'count', 'state', 'open', 'target', loc, 'sku', sku,
        'by', ARGV[1], 'ts', ARGV[4], 'reason', 'short pick ' .. tid)
    redis.call('HSET', KEYS[12], loc, cnt_id)
    redis.call('HINCRBY', KEYS[3], 'counts_requested', 1)
    journal('count_request', cnt_id, {}, {location = loc, sku = sku, task = tid})
end
-- The replacements, appended to the batch in the order given (the C side sorts them by path).
local ok_t, tasks = pcall(cjson.decode, b[3] or '[]')
local ok_o, open = pcall(cjson.decode, b[2] or '[]')
if not ok_t or type(tasks) ~= 'table' then
    tasks = {}
end
if not ok_o or type(open) ~= 'table' then
    open = {}
end
local keep = {}
for _, id in ipairs(open) do
    if id ~= tid then
        keep[#keep + 1] = id
    end
end
open = keep
local out = {}
for i, r in ipairs(reps) do
    local qk = r.quant
    redis.call('HINCRBY', qk, 'reserved', r.qty)
    redis.call('HINCRBY', KEYS[7], qk, r.qty)
    redis.call('HSET', KEYS[KR + k + i], 'kind', 'pick', 'state', 'open', 'batch', t[10],
        'wave', t[12] or '', 'order', order, 'line', t[11] or '', 'sku', sku, 'lot', r.lot,
        'expiry', r.exp, 'location', r.loc, 'qty', r.qty, 'picked', 0, 'tote', '', 'assignee',
        b[4] or '', 'seq', #tasks + 1, 'ts', ARGV[4], 'replaces', tid, 'backorder', own_bo)
    tasks[#tasks + 1] = r.id
    open[#open + 1] = r.id
    journal('reserve', order, {[qk] = r.reserved}, {[qk] = r.reserved + r.qty, task = r.id})
    out[#out + 1] = {task = r.id, location = r.loc, lot = r.lot, qty = r.qty}
end
if n ~= ctr then
    redis.call('SET', KEYS[11], n)
end
redis.call('HINCRBY', KEYS[3], 'pick_tasks', k)
-- The task, its order and its batch.
local picked = num(t[9]) + q
redis.call('HSET', KEYS[4], 'picked', picked, 'state', 'short', 'short', missing, 'updated_ts',
    ARGV[4], 'backorder_id', bo_id or '', 'replacements', #out > 0 and cjson.encode(out) or '[]')
if q > 0 then
    redis.call('HSET', KEYS[4], 'tote', ARGV[15])
end
local ostate = o[1]
if q > 0 and ostate == 'waved' then
    ostate = 'picking'
end
local left = num(o[2]) - 1 + k
redis.call('HSET', KEYS[6], 'tasks_open', left)
if left <= 0 then
    ostate = 'picked'
end
if ostate ~= o[1] then
    redis.call('HSET', KEYS[6], 'state', ostate, 'updated_ts', ARGV[4])
    journal('order_' .. ostate, order, {state = o[1]}, {state = ostate})
    if ostate == 'picked' and own_bo ~= '' then
        redis.call('HSET', KEYS[21], 'state', 'done', 'done_ts', ARGV[4])
        journal('backorder_done', own_bo, {state = 'reserved'}, {state = 'done', order = order})
    end
end
local bstate = b[1]
redis.call('HSET', KEYS[5], 'tasks', cjson.encode(tasks), 'open',
    #open > 0 and cjson.encode(open) or '[]')
if #open == 0 then
    bstate = 'done'
    redis.call('HSET', KEYS[5], 'state', 'done', 'done_ts', ARGV[4])
    journal('batch_done', t[10], {state = b[1]}, {state = 'done'})
end
-- What no free stock covers: a backorder and its follow-up order.
if bo_id then
    local lot = type(line.lot) == 'string' and line.lot or ''
    redis.call('INCR', KEYS[14])
    redis.call('HSET', KEYS[16], 'order', order, 'line', t[11] or '', 'sku', sku, 'lot', lot,
        'qty', short_bo, 'priority', ARGV[21], 'ts', ARGV[4], 'state', 'open', 'follow_up', fo,
        'task', tid)
    redis.call('ZADD', KEYS[15], ARGV[4], bo_id)
    local lj = '{' .. (lot ~= '' and ('"lot":' .. cjson.encode(lot) .. ',') or '') .. '"qty":' ..
        string.format('%d', short_bo) .. ',"sku":' .. cjson.encode(sku) .. '}'
    redis.call('HSET', KEYS[17], 'state', 'confirmed', 'hold', 0, 'carrier', o[4] or '',
        'priority', ARGV[21], 'ship_date', '', 'zone', o[5] or '', 'ship_to', o[6] or '', 'lines',
        1, 'units', short_bo, 'spec', '', 'created_ts', ARGV[4], 'updated_ts', ARGV[4], 'by',
        ARGV[1], 'backorder', bo_id, 'parent', order)
    redis.call('HSET', KEYS[18], '0', lj)
    redis.call('SADD', KEYS[19], fo)
    redis.call('HINCRBY', KEYS[3], 'backorders', 1)
    redis.call('HINCRBY', KEYS[3], 'backorder_units', short_bo)
    journal('backorder', bo_id, {}, {order = order, line = t[11] or '', sku = sku, qty = short_bo,
        follow_up = fo})
    journal('order_create', fo, {state = 'none'}, {state = 'confirmed', lines = 1,
        units = short_bo, backorder = bo_id})
end
redis.call('HINCRBY', KEYS[3], 'picks_short', 1)
redis.call('HINCRBY', KEYS[3], 'short_units', missing)
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(picked), tostring(missing), #out > 0 and cjson.encode(out) or '[]',
    bo_id or '', order, ostate, t[10], bstate, cnt_id or open_cnt or '', bo_id and fo or '',
    open[1] or '', q > 0 and ARGV[15] or ''}
