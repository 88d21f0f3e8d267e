-- task_pick: pick.confirm (and the found part of pick.short) of a pick task from the RF
-- device's scans. Checks, in this order, each refused with its reason and counted in the KPI
-- hash (pick_errors and pick_errors_<kind>; the refusal writes nothing else): the scanned
-- location is the task's (location), the scanned GTIN is the task's product (product), a task
-- with a lot gets a scan with that lot (lot), an AI 17 expiry is the task's (expiry), qty is at
-- most what remains (qty), the tote holds no other open order (tote). Then the units move as
-- pick_confirm moves them (quant on_hand and reserved, the order's reservation, tote contents),
-- the task, its batch and its order advance: first pick of the order waved -> picking; task
-- done when all its units are picked; order picked when its last task is done or short; batch
-- done when its last task is.
-- KEYS[4] task, KEYS[5] batch, KEYS[6] order, KEYS[7] order reservations, KEYS[8] quant,
-- KEYS[9] tote contents, KEYS[10] tote. ARGV[7] task id, ARGV[8] 'confirm', ARGV[9] scanned
-- location, ARGV[10] GTIN, ARGV[11] the GTIN's product ('' none), ARGV[12] lot (US: none),
-- ARGV[13] expiry YYYY-MM-DD ('' none), ARGV[14] qty, ARGV[15] tote.
-- Returns {'ok', picked, remaining, order, order state, next task ('' none), task state, batch
-- state, tote, batch}.
if #KEYS ~= 10 or #ARGV ~= 15 then
    return err('EARG', 'task_pick takes 10 keys and 15 arguments')
end
local tid, q = ARGV[7], int_arg(ARGV[14])
if not is_id(tid) or not q or q < 1 or not is_id(ARGV[15]) then
    return err('EARG', 'bad task id, quantity or tote')
end
if seen() then
    return {'dup'}
end
local t = redis.call('HMGET', KEYS[4], 'kind', 'state', 'order', 'sku', 'lot', 'expiry',
    'location', 'qty', 'picked', 'batch')
if t[1] ~= 'pick' then
    return err('EUNKNOWN', 'unknown task "' .. tid .. '"')
end
if t[2] ~= 'open' then
    return err('ESTATE', 'task ' .. tid .. ' is ' .. tostring(t[2]))
end
local order, sku, lot, expiry, loc = t[3], t[4], t[5] or '', t[6] or '', t[7]
local remaining = num(t[8]) - num(t[9])
local function refuse(kind, msg)
    redis.call('HINCRBY', KEYS[3], 'pick_errors', 1)
    redis.call('HINCRBY', KEYS[3], 'pick_errors_' .. kind, 1)
    return err('ESTATE', msg)
end
if ARGV[9] ~= loc then
    return refuse('location', 'scanned location ' .. ARGV[9] .. ' is not ' .. loc .. ' of task ' ..
        tid)
end
if ARGV[11] ~= sku then
    if ARGV[11] == '' then
        return refuse('product', 'scanned GTIN ' .. ARGV[10] .. ' is no product of the site, task ' ..
            tid .. ' is for ' .. sku)
    end
    return refuse('product', 'scanned GTIN ' .. ARGV[10] .. ' is product ' .. ARGV[11] ..
        ', task ' .. tid .. ' is for ' .. sku)
end
if lot ~= '' and ARGV[12] == '\31' then
    return refuse('lot', 'scan has no lot (AI 10), task ' .. tid .. ' is for lot ' .. lot)
end
if lot ~= '' and ARGV[12] ~= lot then
    return refuse('lot', 'scanned lot ' .. ARGV[12] .. ', task ' .. tid .. ' is for lot ' .. lot)
end
if ARGV[13] ~= '' and ARGV[13] ~= expiry then
    return refuse('expiry', 'scanned expiry ' .. ARGV[13] .. ', task ' .. tid .. ' is for ' ..
        (expiry ~= '' and ('expiry ' .. expiry) or 'stock without an expiry'))
end
if q > remaining then
    return refuse('qty', 'qty ' .. q .. ' is more than the ' .. remaining .. ' remaining on task ' ..
        tid)
end
local tote = redis.call('HMGET', KEYS[10], 'order', 'state')
if tote[1] and tote[1] ~= order and tote[2] ~= 'shipped' then
    return refuse('tote', 'tote ' .. ARGV[15] .. ' holds order ' .. tote[1] .. ', task ' .. tid ..
        ' is for order ' .. order)
end
local held = num(redis.call('HGET', KEYS[7], KEYS[8]))
local qv = redis.call('HMGET', KEYS[8], 'on_hand', 'reserved')
local on_hand, reserved = num(qv[1]), num(qv[2])
if held < q or reserved < q or on_hand < q then
    return err('ESTATE', 'order ' .. order .. ' holds ' .. held .. ' on ' .. KEYS[8] .. ' (on_hand ' ..
        on_hand .. ', reserved ' .. reserved .. '), picked ' .. q)
end
local o = redis.call('HMGET', KEYS[6], 'state', 'tasks_open')
local b = redis.call('HMGET', KEYS[5], 'state', 'open')
-- Apply: the stock move (pick_confirm's rule).
local item = sku .. ':' .. lot
local in_tote = num(redis.call('HGET', KEYS[9], item))
redis.call('HINCRBY', KEYS[8], 'on_hand', -q)
redis.call('HINCRBY', KEYS[8], 'reserved', -q)
if redis.call('HINCRBY', KEYS[7], KEYS[8], -q) == 0 then
    redis.call('HDEL', KEYS[7], KEYS[8])
end
redis.call('HINCRBY', KEYS[9], item, q)
redis.call('HSET', KEYS[10], 'order', order, 'state', 'picking', 'ts', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'picks', 1)
redis.call('HINCRBY', KEYS[3], 'picked_units', q)
redis.call('HINCRBY', KEYS[3], 'pick_confirms', 1)
journal('pick', ARGV[15],
    {quant = KEYS[8], on_hand = on_hand, reserved = reserved, order_held = held, tote = in_tote},
    {quant = KEYS[8], on_hand = on_hand - q, reserved = reserved - q, order_held = held - q,
     tote = in_tote + q, item = item, order = order, task = tid})
-- The task, its order and its batch.
local picked = num(t[9]) + q
local tstate = picked == num(t[8]) and 'done' or 'open'
redis.call('HSET', KEYS[4], 'picked', picked, 'tote', ARGV[15], 'state', tstate, 'updated_ts',
    ARGV[4])
local ostate = o[1]
if ostate == 'waved' then
    ostate = 'picking'
end
local open = cjson.decode(b[2] or '[]')
if type(open) ~= 'table' then
    open = {}
end
local bstate = b[1]
if tstate == 'done' then
    local left = num(o[2]) - 1
    redis.call('HSET', KEYS[6], 'tasks_open', left)
    if left <= 0 then
        ostate = 'picked'
    end
    local keep = {}
    for _, id in ipairs(open) do
        if id ~= tid then
            keep[#keep + 1] = id
        end
    end
    open = keep
    redis.call('HSET', KEYS[5], 'open', #open > 0 and cjson.encode(open) or '[]')
    if #open == 0 then
        bstate = 'done'
        redis.call('HSET', KEYS[5], 'state', 'done', 'done_ts', ARGV[4])
        journal('batch_done', t[10], {state = b[1]}, {state = 'done'})
    end
end
if ostate ~= o[1] then
    redis.call('HSET', KEYS[6], 'state', ostate, 'updated_ts', ARGV[4])
    journal('order_' .. ostate, order, {state = o[1]}, {state = ostate})
end
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(picked), tostring(num(t[8]) - picked), order, ostate, open[1] or '', tstate,
    bstate, ARGV[15], t[10]}
