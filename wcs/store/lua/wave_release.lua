-- wave_release: releases a planned wave to the pickers. From the wave's batch_plan (kept by
-- wave_close) it creates one pick task PCK-<n> per pick of the orders still in the wave, the
-- batches <wave>-B<k> (state released, tasks in path order) indexed for batch.claim, and gives
-- every order of the wave a pack station (round-robin over the site's pack stations). Every key
-- is declared (a task of a backorder's follow-up order carries its `backorder` id, so that a
-- pick can declare the backorder's key): the C side reads the wave first (wave_read 'release') and passes the order, batch
-- and task keys; 'changed meanwhile, retry' when the order list or the task counter moved.
-- KEYS[4] wave, KEYS[5] task counter, KEYS[6] released batches zset, KEYS[7] pack station
-- counter, then the order hashes (list order), the batch hashes (B1..), the task hashes (in
-- batch and path order). ARGV[7] wave id, ARGV[8] the orders JSON as read, ARGV[9] the first
-- task number, ARGV[10] pack stations JSON array (may be empty).
-- Returns {'ok', 'released', orders JSON, '0', batches JSON, tasks JSON} (for the events).
if #KEYS < 7 or #ARGV ~= 10 then
    return err('EARG', 'wave_release takes 7 or more keys and 10 arguments')
end
local wid, first = ARGV[7], int_arg(ARGV[9])
local okp, stations = pcall(cjson.decode, ARGV[10])
if not is_id(wid) or not first or first < 1 or not okp or type(stations) ~= 'table' then
    return err('EARG', 'bad wave id, first task number or stations')
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[4], 'state', 'orders', 'batch_plan')
if not v[1] then
    return err('EUNKNOWN', 'unknown wave "' .. wid .. '"')
end
if v[1] ~= 'planned' then
    return err('ESTATE', 'wave ' .. wid .. ' is ' .. v[1] .. ': only a planned wave can be released')
end
local function changed()
    return err('ESTATE', 'wave ' .. wid .. ' changed meanwhile, retry')
end
if (v[2] or '[]') ~= ARGV[8] or num(redis.call('GET', KEYS[5])) + 1 ~= first then
    return changed()
end
local orders = cjson.decode(v[2] or '[]')
if type(orders) ~= 'table' then
    orders = {}
end
local batches = wave_batches(wid, v[3], orders)
if not batches then
    return err('ESTATE', 'wave ' .. wid .. ' has an unreadable batch plan')
end
local n_tasks = 0
for _, b in ipairs(batches) do
    n_tasks = n_tasks + #b.picks
end
local ko, kb = 7, 7 + #orders
local kt = kb + #batches
if #KEYS ~= kt + n_tasks then
    return changed()
end
local bo_of = {}
for i, o in ipairs(orders) do
    local ov = redis.call('HMGET', KEYS[ko + i], 'state', 'backorder')
    local st = ov[1]
    bo_of[o] = ov[2] or ''
    if st ~= 'waved' then
        return err('ESTATE', 'order ' .. o .. ' of wave ' .. wid .. ' is ' .. tostring(st) ..
            ': only waved orders can be released')
    end
end
-- Apply.
local per_order, t, tasks_out, batches_out, units = {}, 0, {}, {}, 0
for bi, b in ipairs(batches) do
    local ids, border, seen_o = {}, {}, {}
    for si, p in ipairs(b.picks) do
        t = t + 1
        local id = 'PCK-' .. (first + t - 1)
        local q = tonumber(p.n) or 0
        redis.call('HSET', KEYS[kt + t], 'kind', 'pick', 'state', 'open', 'batch', b.id, 'wave',
            wid, 'order', p.o, 'line', tostring(p.l), 'sku', p.sku, 'lot', p.lot or '', 'expiry',
            p.exp or '', 'location', p.loc, 'qty', q, 'picked', 0, 'tote', '', 'assignee', '',
            'seq', si, 'ts', ARGV[4], 'backorder', bo_of[p.o] or '')
        ids[#ids + 1] = id
        per_order[p.o] = (per_order[p.o] or 0) + 1
        if not seen_o[p.o] then
            seen_o[p.o] = true
            border[#border + 1] = p.o
        end
        units = units + q
        tasks_out[#tasks_out + 1] = {task = id, batch = b.id, order = p.o, sku = p.sku,
            location = p.loc, lot = p.lot or '', qty = q, seq = si, state = 'open'}
    end
    local cutoff_min = b.cutoff > 0 and math.floor(b.cutoff / 60000) or 99999999
    redis.call('HSET', KEYS[kb + bi], 'wave', wid, 'state', 'released', 'assignee', '', 'tasks',
        cjson.encode(ids), 'open', cjson.encode(ids), 'orders', cjson.encode(border), 'cutoff',
        string.format('%d', b.cutoff), 'ts', ARGV[4])
    redis.call('ZADD', KEYS[6], cutoff_min * 1000000 + (first + t - #ids) % 1000000, b.id)
    batches_out[#batches_out + 1] = {batch = b.id, tasks = ids, orders = border,
        cutoff = b.cutoff, state = 'released'}
end
for i, o in ipairs(orders) do
    local station = ''
    if #stations > 0 then
        local rr = redis.call('INCR', KEYS[7])
        station = stations[(rr - 1) % #stations + 1]
    end
    redis.call('HSET', KEYS[ko + i], 'pack_station', station, 'tasks_open', per_order[o] or 0,
        'updated_ts', ARGV[4])
end
if t > 0 then
    redis.call('INCRBY', KEYS[5], t)
end
redis.call('HSET', KEYS[4], 'state', 'released', 'tasks', t, 'first_task', first, 'batch_ids',
    #batches > 0 and cjson.encode((function()
        local l = {}
        for _, b in ipairs(batches) do
            l[#l + 1] = b.id
        end
        return l
    end)()) or '[]', 'updated_ts', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'pick_tasks', t)
redis.call('HINCRBY', KEYS[3], 'batches_released', #batches)
journal('wave_release', wid, {state = 'planned'},
    {state = 'released', batches = #batches, tasks = t, units = units})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', 'released', v[2] or '[]', '0', #batches_out > 0 and cjson.encode(batches_out) or '[]',
    #tasks_out > 0 and cjson.encode(tasks_out) or '[]'}
