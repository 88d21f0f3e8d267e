-- task_pick: pick.confirm (and the found part of pick.short) of a pick task from the RF
-- device's scans. Checks, in this order, each refused with its reason and counted in the KPI
-- hash (pick_errors and pick_errors_<kind>; the refusal writes nothing else): the scanned
-- location is the task's (location), the scanned GTIN is the task's product (product), a task
-- with a lot gets a scan with that lot (lot), an AI 17 expiry is the task's (expiry), qty is at
-- most what remains (qty), the tote holds no other open order (tote); for a serial-tracked
-- product (ARGV[17] 'serial') the lot check is the serial rule (serial: AI 21 present, qty 1, the
-- task's serial, not out of stock; prelude pick_check). Then the units move as
-- pick_confirm moves them (quant on_hand and reserved, the order's reservation, tote contents),
-- the task, its batch and its order advance: first pick of the order waved -> picking; task
-- done when all its units are picked; order picked when its last task is done or short; batch
-- done when its last task is.
-- KEYS[4] task, KEYS[5] batch, KEYS[6] order, KEYS[7] order reservations, KEYS[8] quant,
-- KEYS[9] tote contents, KEYS[10] tote, KEYS[11] the busy pick faces hash (replen_claim: a
-- pick at a face being replenished waits, refused without counting a pick error), KEYS[12] the
-- tote's serials set (members <sku>:<serial>), KEYS[13] the site's serials hash (<sku>:<serial>
-- -> why it is out of stock), KEYS[14] the scanned serial's record serial:<sku>:<serial> (a
-- stand-in, the task key, unless the product is serial-tracked and the scan has AI 21), KEYS[15]
-- the backorder hash when the order is a backorder's follow-up (its `backorder` field; the
-- backorder becomes done with the order). ARGV[7] task
-- id, ARGV[8] 'confirm', ARGV[9] scanned location, ARGV[10] GTIN, ARGV[11] the GTIN's product
-- ('' none), ARGV[12] lot (US: none), ARGV[13] expiry YYYY-MM-DD ('' none), ARGV[14] qty,
-- ARGV[15] tote, ARGV[16] serial (AI 21, '' none), ARGV[17] 'serial' when the GTIN's product is
-- serial-tracked, else ''.
-- Returns {'ok', picked, remaining, order, order state, next task ('' none), task state, batch
-- state, tote, batch, sku, location}.
if (#KEYS ~= 14 and #KEYS ~= 15) or #ARGV ~= 17 then
    return err('EARG', 'task_pick takes 14 or 15 keys and 17 arguments')
end
local tid, q = ARGV[7], int_arg(ARGV[14])
if not is_id(tid) or not q or q < 1 or not is_id(ARGV[15]) or
    (ARGV[16] ~= '' and not is_id(ARGV[16])) or (ARGV[17] ~= '' and ARGV[17] ~= 'serial') then
    return err('EARG', 'bad task id, quantity, tote or serial')
end
if KEYS[12] ~= KEYS[10] .. ':serials' or KEYS[13] ~= site_key('serials') or
    (ARGV[17] == 'serial' and ARGV[16] ~= '' and ARGV[11] ~= '' and
     KEYS[14] ~= serial_key(ARGV[11], ARGV[16])) then
    return err('EARG', 'KEYS[12..14] are not the tote\'s and the site\'s serials and the record')
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
local order = t[3]
-- The keys the C side made from the task as it read it or knew it from the batch's claim
-- (ops_task_hint): a task that does not match them is read again.
local quant = site_key('quant:' .. tostring(t[4]) .. ':' .. tostring(t[7]) .. ':' .. (t[5] or ''))
if KEYS[5] ~= site_key('batch:' .. tostring(t[10])) or
    KEYS[6] ~= site_key('order:' .. tostring(order)) or
    KEYS[7] ~= site_key('order:' .. tostring(order) .. ':resv') or KEYS[8] ~= quant then
    return err('ESTATE', 'task ' .. tid .. ' changed meanwhile, retry')
end
if KEYS[11] ~= site_key('replen:faces') then
    return err('EARG', 'KEYS[11] is not the busy faces hash')
end
-- The pick waits while a replenisher fills its face (docs/mqtt.md, "Replenishment").
local busy = redis.call('HGET', KEYS[11], t[7])
if busy then
    return err('ESTATE', 'task ' .. tid .. ' waits: replenishment ' .. busy .. ' is filling ' ..
        t[7] .. ', pick after its replen.confirm')
end
local ser = serial_read(ARGV[17] == 'serial' and ARGV[11] == t[4], t[4], ARGV[16], KEYS[13],
    KEYS[14])
ser.tracked = ARGV[17] == 'serial'
local bad, st = pick_check(t, q, ser), nil
if not bad then
    st = pick_stock()
    bad = pick_held(t, q, st)
end
if bad then
    return bad
end
local o = redis.call('HMGET', KEYS[6], 'state', 'tasks_open', 'backorder')
-- A follow-up order of a backorder: its backorder hash is KEYS[15] (read first by the C side).
local bo = o[3] or ''
if (bo ~= '' and KEYS[15] ~= site_key('backorder:' .. bo)) or (bo == '' and #KEYS == 15) then
    return err('ESTATE', 'task ' .. tid .. ' changed meanwhile, retry')
end
local b = redis.call('HMGET', KEYS[5], 'state', 'open')
-- Apply: the stock move (pick_confirm's rule).
pick_apply(t, q, st)
if ser.tracked then
    serial_picked(t, ser.serial, ARGV[15], KEYS[12], KEYS[13], KEYS[14])
end
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
    if ostate == 'picked' and bo ~= '' then
        redis.call('HSET', KEYS[15], 'state', 'done', 'done_ts', ARGV[4])
        journal('backorder_done', bo, {state = 'reserved'}, {state = 'done', order = order})
    end
end
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(picked), tostring(num(t[8]) - picked), order, ostate, open[1] or '', tstate,
    bstate, ARGV[15], t[10], t[4], t[7]}
