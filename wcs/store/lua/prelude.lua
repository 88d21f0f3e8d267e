-- Prelude of every wcs store script (wcs/store/lua/prelude.lua), prepended at build time.
-- Common keys: KEYS[1] journal stream, KEYS[2] op id key (replay dedup), KEYS[3] KPI hash.
-- Common args: ARGV[1] actor, ARGV[2] cause, ARGV[3] op id, ARGV[4] ts (epoch ms),
-- ARGV[5] journal MAXLEN (~), ARGV[6] op id TTL (s). A script's own args start at ARGV[7].
-- Rule: validate everything and read the state first; write only when nothing can fail, so a
-- refused call changes nothing. Errors are "<CODE> text": EARG (arguments), ESTATE (refused by
-- the current stock), EUNKNOWN (a referenced record does not exist).
-- A guarded call (struct store_claim, docs/redis.md "Requests"): the command layer sent it in
-- the same round trip as the claim of its request id, so it runs only if that claim is its own.
-- Its last key is then the request key wcs:{<site>}:req:<user>:<id> (no script takes one of its
-- own) and its last argument the claim's token; both are taken off before anything reads KEYS
-- and ARGV, and a claim that is not this call's refuses the call before any write.
do
    local n = #KEYS
    if n > 3 and #ARGV > 0 and string.sub(KEYS[3], -4) == ':kpi' then
        local p = string.sub(KEYS[3], 1, #KEYS[3] - 3) .. 'req:'
        if string.sub(KEYS[n], 1, #p) == p then
            local key, token = table.remove(KEYS), table.remove(ARGV)
            if string.sub(token, 1, 1) ~= '~' or redis.call('GET', key) ~= token then
                return redis.error_reply('ECLAIM the request id is claimed by another call')
            end
        end
    end
end

local function err(code, msg)
    return redis.error_reply(code .. ' ' .. msg)
end

local function int_arg(s)
    if type(s) ~= 'string' or #s > 16 or not string.match(s, '^%-?%d+$') then
        return nil
    end
    return tonumber(s)
end

local function is_id(s)
    return type(s) == 'string' and #s >= 1 and #s <= 63 and string.match(s, '^[%w_.%-]+$') ~= nil
end

local function is_path(s)
    if type(s) ~= 'string' or #s < 1 or #s > 127 then
        return false
    end
    for seg in string.gmatch(s .. '/', '([^/]*)/') do
        if not is_id(seg) then
            return false
        end
    end
    return true
end

local function is_lot(s)
    return s == '' or is_id(s)
end

local function num(v)
    return tonumber(v) or 0
end

local function common_error()
    if #KEYS < 3 or #ARGV < 6 then
        return 'EARG missing common keys or arguments'
    end
    if ARGV[1] == '' or #ARGV[1] > 128 then
        return 'EARG actor must be 1..128 bytes'
    end
    if #ARGV[2] > 256 then
        return 'EARG cause longer than 256 bytes'
    end
    if not is_id(ARGV[3]) then
        return 'EARG bad op id'
    end
    local ts, maxlen, ttl = int_arg(ARGV[4]), int_arg(ARGV[5]), int_arg(ARGV[6])
    if not ts or ts < 0 or not maxlen or maxlen < 1 or not ttl or ttl < 1 then
        return 'EARG ts, journal maxlen and op ttl must be positive integers'
    end
    return nil
end

local function seen()
    return redis.call('EXISTS', KEYS[2]) == 1
end

local function journal(op, subject, before, after)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'ts', ARGV[4], 'actor', ARGV[1],
        'cause', ARGV[2], 'op', op, 'op_id', ARGV[3], 'subject', subject,
        'before', cjson.encode(before), 'after', cjson.encode(after))
end

local function done()
    redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
    return {'ok'}
end

do
    local e = common_error()
    if e then
        return redis.error_reply(e)
    end
end

-- All or nothing: reserves want[k] on every quant key k of keys (in that order) and records it
-- in the order's reservation hash res_key, or reserves nothing. Returns short (a flat list of
-- key, wanted, available for every quant that cannot give what is wanted) and nothing else, or
-- nil, before (reserved per key before), after (reserved per key after) and the units reserved.
local function reserve_all(keys, want, res_key)
    local short, before = {}, {}
    for _, k in ipairs(keys) do
        -- 'hold': units on quality or return hold, never reservable (receipt_scan).
        local v = redis.call('HMGET', k, 'on_hand', 'reserved', 'hold')
        local avail = num(v[1]) - num(v[2]) - num(v[3])
        before[k] = num(v[2])
        if avail < want[k] then
            short[#short + 1] = k
            short[#short + 1] = tostring(want[k])
            short[#short + 1] = tostring(avail)
        end
    end
    if #short > 0 then
        return short
    end
    local after, units = {}, 0
    for _, k in ipairs(keys) do
        after[k] = redis.call('HINCRBY', k, 'reserved', want[k])
        redis.call('HINCRBY', res_key, k, want[k])
        units = units + want[k]
    end
    return nil, before, after, units
end

-- The quantities of n lines, KEYS[key0 + i] with ARGV[arg0 + i] (a positive integer), summed
-- per quant key. Returns keys (each quant once, in first-seen order) and want (key -> qty), or
-- nil and the error reply for a bad quantity.
local function sum_lines(key0, arg0, n)
    local want, keys = {}, {}
    for i = 1, n do
        local q = int_arg(ARGV[arg0 + i])
        if not q or q <= 0 then
            return nil, err('EARG', 'quantity must be a positive integer: ' .. ARGV[arg0 + i])
        end
        local k = KEYS[key0 + i]
        if not want[k] then
            want[k] = 0
            keys[#keys + 1] = k
        end
        want[k] = want[k] + q
    end
    return keys, want
end

-- The pick batches of wave wid as wave.release makes them (wave_read 'release' and
-- wave_release agree through this one function): the wave's batch_plan (the planner's cart
-- batches in path order, JSON text) with the picks of orders no longer in the wave's order list
-- (orders: decoded list) left out and empty batches dropped; batches are numbered <wid>-B1,
-- -B2... in plan order. Returns a list of {id, cutoff, picks = {{o, l, sku, loc, lot, exp, n}}},
-- or nil for an unreadable plan.
local function wave_batches(wid, plan_text, orders)
    local ok, plan = pcall(cjson.decode, plan_text or '[]')
    if not ok or type(plan) ~= 'table' then
        return nil
    end
    local member, out = {}, {}
    for _, o in ipairs(orders) do
        member[o] = true
    end
    for _, b in ipairs(plan) do
        local picks = {}
        for _, p in ipairs(type(b.picks) == 'table' and b.picks or {}) do
            if member[p.o] then
                picks[#picks + 1] = p
            end
        end
        if #picks > 0 then
            out[#out + 1] = {id = wid .. '-B' .. (#out + 1), cutoff = tonumber(b.cutoff) or 0,
                picks = picks}
        end
    end
    return out
end

-- The key of this site named by suffix ('backorder:BO-1'): the KPI hash KEYS[3] is
-- 'wcs:{<site>}:kpi', so scripts can check that a declared key is the one the data names.
local function site_key(suffix)
    return string.sub(KEYS[3], 1, #KEYS[3] - 3) .. suffix
end

-- The pick scripts (task_pick, task_short) share KEYS[4] task, KEYS[5] batch, KEYS[6] order,
-- KEYS[7] order reservations, KEYS[8] quant, KEYS[9] tote contents, KEYS[10] tote and ARGV[7]
-- task id, ARGV[9] scanned location, ARGV[10] GTIN, ARGV[11] the GTIN's product ('' none),
-- ARGV[12] lot (US: none), ARGV[13] expiry ('' none), ARGV[15] tote.
-- pick_task(): the task's fields {kind, state, order, sku, lot, expiry, location, qty, picked,
-- batch, line, wave}.
local function pick_task()
    return redis.call('HMGET', KEYS[4], 'kind', 'state', 'order', 'sku', 'lot', 'expiry',
        'location', 'qty', 'picked', 'batch', 'line', 'wave')
end

-- The scan checks of a pick of q units (1..) of task t (pick_task), in the contract's order;
-- a failed check is counted (pick_errors, pick_errors_<kind>) and returned as the error reply;
-- Returns nil when all pass. ser (task_pick; nil: no serial rule) is {tracked = the scanned
-- product is serial-tracked, serial = the scan's AI 21 ('' none), taken = the serial's entry in
-- the site's serials hash (nil: never picked), state and rma = its record's (serial_read)}: a
-- serial-tracked product takes one unit per scan with AI 21, the task's serial when it names one
-- (its lot), a serial not out of stock (picked, returned and not inspected, or scrapped); that
-- check (kind serial) stands in for the lot check.
local function pick_check(t, q, ser)
    local tid, order, sku, lot, expiry, loc = ARGV[7], t[3], t[4], t[5] or '', t[6] or '', t[7]
    local remaining = num(t[8]) - num(t[9])
    local function refuse(kind, msg)
        redis.call('HINCRBY', KEYS[3], 'pick_errors', 1)
        redis.call('HINCRBY', KEYS[3], 'pick_errors_' .. kind, 1)
        return err('ESTATE', msg)
    end
    if ARGV[9] ~= loc then
        return refuse('location', 'scanned location ' .. ARGV[9] .. ' is not ' .. loc ..
            ' of task ' .. tid)
    end
    if ARGV[11] ~= sku then
        if ARGV[11] == '' then
            return refuse('product', 'scanned GTIN ' .. ARGV[10] ..
                ' is no product of the site, task ' .. tid .. ' is for ' .. sku)
        end
        return refuse('product', 'scanned GTIN ' .. ARGV[10] .. ' is product ' .. ARGV[11] ..
            ', task ' .. tid .. ' is for ' .. sku)
    end
    if ser and ser.tracked then
        if ser.serial == '' then
            return refuse('serial', 'scan has no serial (AI 21), product ' .. sku ..
                ' of task ' .. tid .. ' is serial-tracked')
        end
        if q ~= 1 then
            return refuse('serial', 'serial-tracked product ' .. sku ..
                ' is picked one unit per scan, qty ' .. q)
        end
        if lot ~= '' and ser.serial ~= lot then
            return refuse('serial', 'scanned serial ' .. ser.serial .. ', task ' .. tid ..
                ' is for serial ' .. lot)
        end
        if ser.taken then
            local tag = 'serial ' .. ser.serial .. ' of ' .. sku
            if ser.state == 'scrapped' then
                return refuse('serial', tag .. ' is scrapped (RMA ' .. tostring(ser.rma) ..
                    '): a scrapped unit is never picked')
            end
            if ser.state == 'returned' then
                return refuse('serial', tag .. ' is returned (RMA ' .. tostring(ser.rma) ..
                    ') and awaits inspection')
            end
            return refuse('serial', tag .. ' is already picked (' .. ser.taken .. ')')
        end
    else
        if lot ~= '' and ARGV[12] == '\31' then
            return refuse('lot', 'scan has no lot (AI 10), task ' .. tid .. ' is for lot ' .. lot)
        end
        if lot ~= '' and ARGV[12] ~= lot then
            return refuse('lot', 'scanned lot ' .. ARGV[12] .. ', task ' .. tid ..
                ' is for lot ' .. lot)
        end
    end
    if ARGV[13] ~= '' and ARGV[13] ~= expiry then
        return refuse('expiry', 'scanned expiry ' .. ARGV[13] .. ', task ' .. tid .. ' is for ' ..
            (expiry ~= '' and ('expiry ' .. expiry) or 'stock without an expiry'))
    end
    if q > remaining then
        return refuse('qty', 'qty ' .. q .. ' is more than the ' .. remaining ..
            ' remaining on task ' .. tid)
    end
    local tote = redis.call('HMGET', KEYS[10], 'order', 'state')
    if tote[1] and tote[1] ~= order and tote[2] ~= 'shipped' then
        return refuse('tote', 'tote ' .. ARGV[15] .. ' holds order ' .. tote[1] .. ', task ' ..
            tid .. ' is for order ' .. order)
    end
    return nil
end

-- The stock a pick moves: the order's hold on the task's quant (KEYS[7] field KEYS[8]) and the
-- quant's on_hand and reserved, read once for pick_held and pick_apply.
local function pick_stock()
    local qv = redis.call('HMGET', KEYS[8], 'on_hand', 'reserved')
    return {held = num(redis.call('HGET', KEYS[7], KEYS[8])), on_hand = num(qv[1]),
        reserved = num(qv[2])}
end

-- Refuses (returns the error reply) unless the task's order holds `need` units on the quant and
-- the quant has them on hand and reserved; nil when it does. st: pick_stock() (nil: read now).
local function pick_held(t, need, st)
    st = st or pick_stock()
    if st.held < need or st.reserved < need or st.on_hand < need then
        return err('ESTATE', 'order ' .. t[3] .. ' holds ' .. st.held .. ' on ' .. KEYS[8] ..
            ' (on_hand ' .. st.on_hand .. ', reserved ' .. st.reserved .. '), picked ' .. need)
    end
    return nil
end

-- Moves q checked units of task t from the quant (on_hand, reserved, the order's reservation)
-- into the tote (contents, tote hash), counts the pick and journals it (op 'pick'). st:
-- pick_stock() read with nothing written to the quant or the order's hold since (nil: read now).
local function pick_apply(t, q, st)
    local tid, order, sku, lot = ARGV[7], t[3], t[4], t[5] or ''
    st = st or pick_stock()
    local held, on_hand, reserved = st.held, st.on_hand, st.reserved
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
        {quant = KEYS[8], on_hand = on_hand, reserved = reserved, order_held = held,
         tote = in_tote},
        {quant = KEYS[8], on_hand = on_hand - q, reserved = reserved - q, order_held = held - q,
         tote = in_tote + q, item = item, order = order, task = tid})
end

-- Serials (docs/redis.md, "Serials"). The site's serials hash (<sku>:<serial> -> why the unit is
-- out of stock) and a record per serial, wcs:{s}:serial:<sku>:<serial>: state (picked,
-- returned, stock, scrapped), the last pick's order, task and tote, the last return's rma, counts
-- and 'life', a JSON list of its events (the last SERIAL_LIFE_MAX).
local SERIAL_LIFE_MAX = 64

local function serial_key(sku, serial)
    return site_key('serial:' .. sku .. ':' .. serial)
end

-- The serial rule's view of a serial: {tracked, serial, taken (the serials hash's entry or nil),
-- state and rma (its record's, nil when none)}. tracked false: nothing read.
local function serial_read(tracked, sku, serial, serials_key, record_key)
    local ser = {tracked = tracked, serial = serial}
    if tracked and serial ~= '' then
        ser.taken = redis.call('HGET', serials_key, sku .. ':' .. serial) or nil
        local r = redis.call('HMGET', record_key, 'state', 'rma')
        ser.state, ser.rma = r[1] or nil, r[2] or nil
    end
    return ser
end

-- Writes a serial's record: state, the fields kv (flat list) and the event ev (a table; ts and
-- state added) appended to its life.
local function serial_note(record_key, sku, serial, state, ev, kv)
    local ok, life = pcall(cjson.decode, redis.call('HGET', record_key, 'life') or '[]')
    if not ok or type(life) ~= 'table' then
        life = {}
    end
    ev.ts = tonumber(ARGV[4])
    ev.state = state
    life[#life + 1] = ev
    while #life > SERIAL_LIFE_MAX do
        table.remove(life, 1)
    end
    redis.call('HSET', record_key, 'sku', sku, 'serial', serial, 'state', state, 'updated_ts',
        ARGV[4], 'life', cjson.encode(life), unpack(kv))
end

-- A serial-tracked unit of task t picked into tote (after pick_apply): into the tote's serials
-- set, out of stock in the site's serials hash, its record 'picked' (journal op pick_serial).
local function serial_picked(t, serial, tote, tote_serials_key, serials_key, record_key)
    local tid, order, sku = ARGV[7], t[3], t[4]
    local item = sku .. ':' .. serial
    redis.call('SADD', tote_serials_key, item)
    redis.call('HSET', serials_key, item, 'task ' .. tid .. ', tote ' .. tote)
    redis.call('HINCRBY', record_key, 'picks', 1)
    serial_note(record_key, sku, serial, 'picked', {ev = 'pick', order = order, task = tid,
        tote = tote}, {'order', order, 'task', tid, 'tote', tote, 'picked_ts', ARGV[4]})
    journal('pick_serial', tote, {}, {item = item, task = tid, order = order})
end
