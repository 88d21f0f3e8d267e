-- replen_create: opens the replenishment tasks RPL-<n> (kind replenish) the planner chose for a
-- pick face (wcs/command/replen.c), or refuses with the reason and changes nothing. Re-checks
-- what the plan was made on: the task counter, no open replenishment of the face and product,
-- the face still below its min (level = on hand - reserved over the face's quants of the
-- product: what stays after every reserved pick), every source quant still free for its move.
-- Each task reserves its units on the source quant (replen_confirm moves them).
-- KEYS[4] task counter, KEYS[5] open replenishments hash (field "<face>|<sku>": open tasks),
-- then nf face quants, nm source quants, nm task hashes. ARGV[7] face, ARGV[8] sku, ARGV[9]
-- min, ARGV[10] first task number, ARGV[11] trigger (pick|release), ARGV[12] nf, ARGV[13] nm,
-- then per move 5 values: qty, lot, expiry, source location, reason.
-- Returns {'ok', tasks JSON [{task, kind, sku, lot, from, to, qty, trigger, reason}], level}.
local nf, nm = int_arg(ARGV[12]), int_arg(ARGV[13])
if not nf or not nm or nf < 0 or nm < 1 or #KEYS ~= 5 + nf + 2 * nm or #ARGV ~= 13 + 5 * nm then
    return err('EARG', 'replen_create takes 5 + nf + 2 nm keys and 13 + 5 nm arguments')
end
local face, sku, min, first = ARGV[7], ARGV[8], int_arg(ARGV[9]), int_arg(ARGV[10])
if not is_path(face) or not is_id(sku) or not min or not first or first < 1 or
    (ARGV[11] ~= 'pick' and ARGV[11] ~= 'release') then
    return err('EARG', 'bad face, sku, min, first task number or trigger')
end
if KEYS[5] ~= site_key('replen:open') then
    return err('EARG', 'KEYS[5] is not the open replenishments hash')
end
if seen() then
    return {'dup'}
end
if num(redis.call('GET', KEYS[4])) + 1 ~= first then
    return err('ESTATE', 'replenishment of ' .. face .. ' changed meanwhile, retry')
end
local field = face .. '|' .. sku
local open = num(redis.call('HGET', KEYS[5], field))
if open > 0 then
    return err('ESTATE', 'pick face ' .. face .. ' has ' .. open .. ' open replenishment task(s) for ' .. sku)
end
local level = 0
for i = 1, nf do
    local v = redis.call('HMGET', KEYS[5 + i], 'sku', 'loc', 'on_hand', 'reserved')
    if v[1] and (v[1] ~= sku or v[2] ~= face) then
        return err('EARG', KEYS[5 + i] .. ' is no quant of ' .. sku .. ' at ' .. face)
    end
    level = level + num(v[3]) - num(v[4])
end
if level >= min then
    return err('ESTATE', 'pick face ' .. face .. ' holds ' .. level .. ' units of ' .. sku ..
        ' after its reserved picks, not below its min ' .. min)
end
local ks, kt, a0 = 5 + nf, 5 + nf + nm, 13
local moves = {}
for i = 1, nm do
    local q = int_arg(ARGV[a0 + 5 * (i - 1) + 1])
    local lot, exp, from, why = ARGV[a0 + 5 * (i - 1) + 2], ARGV[a0 + 5 * (i - 1) + 3],
        ARGV[a0 + 5 * (i - 1) + 4], ARGV[a0 + 5 * (i - 1) + 5]
    if not q or q < 1 or not is_lot(lot) or not is_path(from) or from == face then
        return err('EARG', 'bad move ' .. i)
    end
    local v = redis.call('HMGET', KEYS[ks + i], 'sku', 'loc', 'lot', 'on_hand', 'reserved', 'hold')
    if v[1] ~= sku or v[2] ~= from or (v[3] or '') ~= lot then
        return err('EARG', KEYS[ks + i] .. ' is not the quant of move ' .. i)
    end
    local free = num(v[4]) - num(v[5]) - num(v[6])
    moves[i] = {q = q, lot = lot, exp = exp, from = from, why = why, free = free,
        reserved = num(v[5])}
end
-- Two moves from one quant (several lots are separate quants: they never share one).
local want = {}
for i = 1, nm do
    local k = KEYS[ks + i]
    want[k] = (want[k] or 0) + moves[i].q
    if want[k] > moves[i].free then
        return err('ESTATE', 'replenishment of ' .. face .. ' changed meanwhile, retry')
    end
end
-- Apply.
local out, units = {}, 0
for i, m in ipairs(moves) do
    local id = 'RPL-' .. (first + i - 1)
    redis.call('HINCRBY', KEYS[ks + i], 'reserved', m.q)
    redis.call('HSET', KEYS[kt + i], 'kind', 'replenish', 'state', 'open', 'sku', sku, 'lot',
        m.lot, 'expiry', m.exp, 'from', m.from, 'location', m.from, 'to', face, 'qty', m.q,
        'moved', 0, 'assignee', '', 'trigger', ARGV[11], 'reason', m.why, 'ts', ARGV[4])
    journal('replen_create', id, {quant = KEYS[ks + i], reserved = m.reserved},
        {quant = KEYS[ks + i], reserved = m.reserved + m.q, task = id, to = face, qty = m.q,
         trigger = ARGV[11]})
    units = units + m.q
    out[#out + 1] = {task = id, kind = 'replenish', sku = sku, lot = m.lot, from = m.from,
        to = face, qty = m.q, trigger = ARGV[11], reason = m.why, state = 'open'}
end
redis.call('HINCRBY', KEYS[5], field, nm)
redis.call('INCRBY', KEYS[4], nm)
redis.call('HINCRBY', KEYS[3], 'replen_tasks', nm)
redis.call('HINCRBY', KEYS[3], 'replen_tasks_' .. ARGV[11], nm)
redis.call('HINCRBY', KEYS[3], 'replen_planned_units', units)
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', cjson.encode(out), tostring(level)}
